// One run per folder (refusal, --overwrite, the lock), run and checkpoint folders meaning the same
// run, and checkpoints that survive a kill at every step of their save sequence.
import test from 'ava';
import * as fs from 'fs';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { cli, exited, microSetup, spawnCli, stableRows, whenStderr } from '../helpers/cli-run';
import { latestCheckpoint, removeStaleTemporaries, resolveRun } from '../../lib/train/checkpoint-layout';

const { tmp, common } = microSetup('mt-runs-');

test('train into a folder holding a run refuses, keeps it, and --overwrite replaces it', (t) => {
  const dir = path.join(tmp, 'ow');
  t.is(cli(['train', ...common, '--steps', '3', '--out', dir]).status, 0);
  const before = fs.readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8');
  const again = cli(['train', ...common, '--steps', '5', '--out', dir]);
  t.is(again.status, 2);
  t.is(again.stderr.trim().split('\n').length, 1, again.stderr);
  t.true(again.stderr.includes(dir) && again.stderr.includes(`--resume ${dir}`) && again.stderr.includes('--overwrite'), again.stderr);
  t.is(fs.readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8'), before);
  t.is(JSON.parse(fs.readFileSync(path.join(dir, 'checkpoint', 'trainer.json'), 'utf8')).step, 3);
  const ow = cli(['train', ...common, '--steps', '2', '--out', dir, '--overwrite']);
  t.is(ow.status, 0, ow.stderr);
  t.is(stableRows(dir).length, 2);
  t.false(fs.existsSync(path.join(dir, 'checkpoint-3')));
});

for (const nproc of [1, 2]) {
  test(`a second trainer in the same folder fails at once (the second with --nproc ${nproc})`, async (t) => {
    const dir = path.join(tmp, `lock${nproc}`);
    const first = spawnCli(['train', ...common, '--steps', '100000', '--out', dir]);
    const done = exited(first);
    await new Promise<void>((resolve) => whenStderr(first, /step \d+\//, resolve));
    const t0 = Date.now();
    let second;
    try {
      second = cli(['train', ...common, '--steps', '4', '--out', dir, '--nproc', String(nproc)]);
    } finally {
      first.kill('SIGINT');
    }
    t.not(second.status, 0);
    t.regex(second.stderr, new RegExp(`in use by another trainer \\(process ${first.pid}`));
    t.is(second.stderr.trim().split('\n').length, 1, second.stderr);
    t.true(Date.now() - t0 < 30000);
    t.is((await done).code, 130);
    t.false(fs.existsSync(path.join(dir, 'train.lock')), 'the lock is released at exit');
  });
}

test('a stale lock of a dead process is taken over with a notice', (t) => {
  const dir = path.join(tmp, 'stale');
  fs.mkdirSync(dir);
  const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
  fs.writeFileSync(path.join(dir, 'train.lock'), `${dead}\n`);
  const r = cli(['train', ...common, '--steps', '2', '--out', dir]);
  t.is(r.status, 0, r.stderr);
  t.regex(r.stderr, new RegExp(`taking over the lock of process ${dead}`));
});

test('--resume RUN/checkpoint means --resume RUN; eval takes either', (t) => {
  const full = path.join(tmp, 'full3'), part = path.join(tmp, 'part3');
  t.is(cli(['train', ...common, '--steps', '8', '--out', full]).status, 0);
  t.is(cli(['train', ...common, '--steps', '8', '--stop-after', '3', '--out', part]).status, 0);
  const r = cli(['train', '--resume', path.join(part, 'checkpoint')]);
  t.is(r.status, 0, r.stderr);
  t.false(fs.existsSync(path.join(part, 'checkpoint', 'checkpoint')), 'no run nested in the checkpoint');
  t.deepEqual(stableRows(part), stableRows(full));
  t.deepEqual(resolveRun(path.join(part, 'checkpoint')), resolveRun(part));
  const a = cli(['eval', '--checkpoint', part, '--json']), b = cli(['eval', '--checkpoint', path.join(part, 'checkpoint'), '--json']);
  t.is(a.status, 0, a.stderr);
  t.is(a.stdout, b.stdout);
  t.is(JSON.parse(fs.readFileSync(path.join(latestCheckpoint(part)!, 'trainer.json'), 'utf8')).step, 8);
});

test('a kill at every step of the save sequence leaves a complete checkpoint; resume is bit-identical', (t) => {
  const full = path.join(tmp, 'kfull');
  const args = [...common, '--steps', '6', '--checkpoint-every', '2'];
  t.is(cli(['train', ...args, '--out', full]).status, 0);
  for (let k = 1; k <= 8; ++k) {
    const dir = path.join(tmp, `kill${k}`);
    const killed = cli(['train', ...args, '--out', dir], { MOONTRAIN_TEST_KILL_AT_SAVE: `2:${k}` });
    t.is(killed.signal, 'SIGKILL', `k=${k}: ${killed.stderr}`);
    const ck = latestCheckpoint(dir);
    t.truthy(ck, `k=${k}: a complete checkpoint is reachable`);
    const step = JSON.parse(fs.readFileSync(path.join(ck!, 'trainer.json'), 'utf8')).step;
    t.true(step === 2 || step === 4, `k=${k}: step ${step}`);
    const r = cli(['train', '--resume', dir]);
    t.is(r.status, 0, `k=${k}: ${r.stderr}`);
    t.deepEqual(stableRows(dir), stableRows(full), `k=${k}`);
    t.deepEqual(fs.readdirSync(dir).filter((n) => /tmp|old/.test(n)), [], `k=${k}: temporaries of the killed process removed`);
  }
});

test('--keep-checkpoints K keeps the K newest complete checkpoints', (t) => {
  const dir = path.join(tmp, 'keep');
  t.is(cli(['train', ...common, '--steps', '8', '--checkpoint-every', '1', '--keep-checkpoints', '2', '--out', dir]).status, 0);
  t.deepEqual(fs.readdirSync(dir).filter((n) => n.startsWith('checkpoint')).sort(), ['checkpoint', 'checkpoint-7', 'checkpoint-8']);
});

test('only temporaries of dead processes are removed; checkpoints and live temporaries stay', (t) => {
  const dir = path.join(tmp, 'temps');
  fs.mkdirSync(dir);
  const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
  const names = [`.checkpoint-4.tmp-${dead}`, `checkpoint.old-${dead}`, `.checkpoint.tmp-${dead}`, `metrics.jsonl.tmp-${dead}`, `loss.svg.tmp-${dead}-2`];
  const keep = ['checkpoint-5', `.checkpoint-6.tmp-${process.pid}`, 'metrics.jsonl', `checkpoint-${dead}`];
  for (const n of [...names, ...keep]) fs.mkdirSync(path.join(dir, n));
  t.deepEqual(removeStaleTemporaries(dir).sort(), names.sort());
  t.deepEqual(fs.readdirSync(dir).sort(), keep.sort());
});
