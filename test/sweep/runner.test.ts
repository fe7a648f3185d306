// moontrain sweep as a user runs it, on a micro model: every run once, results.jsonl lines with
// what the report needs, SIGINT mid-run then a rerun that resumes to the same numbers as an
// uninterrupted sweep, a second sweep on the same directory refused, and the report's files.
import test from 'ava';
import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { writeMicroRun } from '../helpers/micro-run';

const root = path.join(__dirname, '..', '..');
const cliArgs = ['--import', 'tsx', path.join(root, 'lib', 'cli.ts')];
const cli = (args: string[]) => spawnSync(process.execPath, [...cliArgs, ...args], { cwd: root, encoding: 'utf8' });
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-sweep-'));
const { config, data } = writeMicroRun(tmp);
const spec = path.join(tmp, 'spec.json');
fs.writeFileSync(spec, JSON.stringify({
  base: { config, data, 'batch-size': 4, 'seq-len': 16, schedule: 'wsd', 'warmup-fraction': 0.1, 'eval-batches': 'all', 'checkpoint-every': 2 },
  grid: [{ optimizer: ['adamw', 'muon'], lr: 0.01, tokens: [1280, 2560], seed: 1 }, { label: 'wd0', optimizer: 'muon', lr: 0.01, tokens: 1280, 'weight-decay': 0 }],
}));
const results = (dir: string) => fs.readFileSync(path.join(dir, 'results.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));

test('a sweep runs each run once, resumes an interrupted run to the same result, and reports', async (t) => {
  const clean = path.join(tmp, 'clean'), cut = path.join(tmp, 'cut');
  const r = cli(['sweep', spec, '--out', clean]);
  t.is(r.status, 0, r.stderr);
  const rows = results(clean);
  t.is(rows.length, 5);
  for (const row of rows) {
    for (const k of ['val_loss', 'train_loss', 'tokens', 'model_flops', 'newton_schulz_flops', 'train_s', 'wall_s']) t.true(Number.isFinite(row[k]), `${row.id} ${k}`);
    t.is(row.newton_schulz_flops > 0, row.optimizer === 'muon');
    t.is(row.tokens, row.steps * 64);
  }
  t.deepEqual(rows.map((x) => x.label), ['main', 'main', 'main', 'main', 'wd0']);
  // Interrupt the first run of a second sweep once it has a checkpoint, then finish it.
  const child = spawn(process.execPath, [...cliArgs, 'sweep', spec, '--out', cut], { cwd: root });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const first = path.join(cut, 'runs', rows[0].id, 'checkpoint', 'trainer.json');
  const timer = setInterval(() => {
    if (fs.existsSync(first) && !child.killed) child.kill('SIGINT');
  }, 20);
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  clearInterval(timer);
  t.is(code, 0, stderr);
  const partial = fs.existsSync(path.join(cut, 'results.jsonl')) ? results(cut).length : 0;
  t.true(partial < 5, 'stopped early');
  const again = cli(['sweep', spec, '--out', cut]);
  t.is(again.status, 0, again.stderr);
  t.regex(again.stderr, new RegExp(`${partial} done, ${5 - partial} to run`));
  const resumed = results(cut);
  t.deepEqual(resumed.map((x) => [x.id, x.val_loss, x.train_loss]), rows.map((x) => [x.id, x.val_loss, x.train_loss]), 'the same numbers as an uninterrupted sweep');
  const before = fs.readFileSync(path.join(cut, 'results.jsonl'), 'utf8');
  const third = cli(['sweep', spec, '--out', cut]);
  t.regex(third.stderr, /5 done, 0 to run/);
  t.is(fs.readFileSync(path.join(cut, 'results.jsonl'), 'utf8'), before, 'finished runs are never rerun');
  // Another live sweep holds the directory: refused.
  fs.writeFileSync(path.join(cut, 'sweep.lock'), String(process.pid));
  const locked = cli(['sweep', spec, '--out', cut]);
  t.is(locked.status, 1);
  t.regex(locked.stderr, /is in use by process \d+/);
  fs.rmSync(path.join(cut, 'sweep.lock'));
  const rep = cli(['sweep', '--report', clean]);
  t.is(rep.status, 0, rep.stderr);
  for (const f of ['summary.json', 'report.md', 'loss-vs-lr.svg', 'loss-vs-tokens.svg', 'speedup.svg', 'gap.svg']) t.true(fs.existsSync(path.join(clean, f)), f);
  const summary = JSON.parse(fs.readFileSync(path.join(clean, 'summary.json'), 'utf8'));
  t.is(summary.budgets.length, 2);
  for (const k of ['token_speedup', 'token_speedup_ci95', 'flop_speedup', 'wall_speedup']) t.true(k in summary.budgets[0], k);
  t.is(summary.checks[0].label, 'wd0');
});

test('bad use of sweep: no spec, a missing spec, --report on an empty directory', (t) => {
  const none = cli(['sweep']);
  t.is(none.status, 2);
  t.regex(none.stderr, /expected one SPEC.json \(or --report DIR\), got none/);
  const missing = cli(['sweep', path.join(tmp, 'nope.json')]);
  t.is(missing.status, 1);
  t.regex(missing.stderr, /ENOENT|no such file/);
  const empty = cli(['sweep', '--report', path.join(tmp, 'empty')]);
  t.is(empty.status, 1);
  t.regex(empty.stderr, /no results in/);
});
