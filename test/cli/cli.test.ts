// The command line, as a user runs it: train on a token file, resume, SIGINT, eval, sample,
// info, and clear failures.
import test from 'ava';
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { cli, microSetup, root, stableRows } from '../helpers/cli-run';

const { tmp, config: micro, data, common } = microSetup('mt-cli-');

test('train writes metrics, plot and checkpoint; resume gives the same metric rows as one run', (t) => {
  const a = path.join(tmp, 'a'), b = path.join(tmp, 'b');
  const full = cli(['train', ...common, '--steps', '8', '--out', a]);
  t.is(full.status, 0, full.stderr);
  t.regex(full.stderr, /done: 8 steps/);
  const rows = fs.readFileSync(path.join(a, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  t.is(rows.length, 8);
  for (const k of ['step', 'loss', 'lr', 'tokens', 'tokens_per_s']) t.true(k in rows[0], k);
  t.true('val_loss' in rows[3] && 'val_loss' in rows[7]);
  t.regex(fs.readFileSync(path.join(a, 'loss.svg'), 'utf8'), /<svg[\s\S]*<path/);
  for (const f of ['model.safetensors', 'config.json', 'optimizer.safetensors', 'trainer.json']) t.true(fs.existsSync(path.join(a, 'checkpoint', f)), f);
  t.is(cli(['train', ...common, '--steps', '8', '--stop-after', '5', '--out', b]).status, 0);
  const resumed = cli(['train', '--resume', b, '--steps', '8']);
  t.is(resumed.status, 0, resumed.stderr);
  // Whole rows (step, loss, lr, tokens, grad_norm, aux_loss, val_loss), not only the losses.
  t.deepEqual(stableRows(b), stableRows(a));
});

test('SIGINT saves a checkpoint and exits cleanly; the run resumes from it', async (t) => {
  const dir = path.join(tmp, 'sigint');
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'lib', 'cli.ts'), 'train', ...common, '--steps', '100000', '--out', dir], { cwd: root });
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr += d;
    if (/step \d+\//.test(stderr) && !child.killed) child.kill('SIGINT');
  });
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  t.is(code, 130, stderr);
  t.regex(stderr, /stopped at step \d+; checkpoint in/);
  const state = JSON.parse(fs.readFileSync(path.join(dir, 'checkpoint', 'trainer.json'), 'utf8'));
  t.true(state.step >= 1 && state.step < 100000);
});

test('eval and sample read a checkpoint; info reports the analytic counts', (t) => {
  const dir = path.join(tmp, 'a');
  const ev = cli(['eval', '--checkpoint', dir, '--split', 'test', '--json']);
  t.is(ev.status, 0, ev.stderr);
  const r = JSON.parse(ev.stdout);
  t.true(r.loss > 0 && Math.abs(r.perplexity_per_token - Math.exp(r.loss)) < 1e-9 * r.perplexity_per_token);
  const s = cli(['sample', '--checkpoint', dir, '--prompt', 'x']);
  t.not(s.status, 0, 'a token-file run has no tokenizer to decode with');
  t.regex(s.stderr, /without a tokenizer/);
  const info = cli(['info', '--config', 'moonlight-16b-a3b', '--json']);
  const j = JSON.parse(info.stdout);
  t.is(j.params_total, 15289021568);
  t.is(j.params_active, 2243687552);
  t.is(j.params_embedding, 335544320);
  t.true(j.flops_per_token > 6 * (2243687552 + 335544320));
});

test('bad input ends with one clear line and a non-zero exit, never a stack', (t) => {
  const cases: [string[], RegExp][] = [
    [['train', '--config', 'no-such-preset'], /--config: expected tiny, small, moonlight-16b-a3b or the path/],
    [['train', '--steps', '0'], /--steps: expected an integer >= 1, got '0'/],
    [['train', '--optimizer', 'sgd'], /--optimizer: expected one of muon, adamw, got 'sgd'/],
    [['train', '--config', micro, '--data', path.join(tmp, 'missing.bin')], /missing\.bin/],
    [['train', '--bogus'], /Unknown option '--bogus'/],
    [['eval'], /--checkpoint DIR is required/],
    [['eval', '--checkpoint', path.join(tmp, 'nothing-here')], /no checkpoint in/],
    [['frobnicate'], /unknown command 'frobnicate'/],
  ];
  for (const [args, re] of cases) {
    const r = cli(args);
    t.not(r.status, 0, args.join(' '));
    t.regex(r.stderr, re, args.join(' '));
    t.notRegex(r.stderr, /\n\s+at /, `no stack trace for ${args.join(' ')}`);
  }
});

test('--version prints the version; <command> --help prints that command\'s flags and exits 0', (t) => {
  const version = cli(['--version']);
  t.is(version.status, 0);
  t.is(version.stdout.trim(), JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).version);
  for (const command of ['train', 'eval', 'sample', 'info']) {
    const r = cli([command, '--help']);
    t.is(r.status, 0, command);
    t.true(r.stdout.startsWith(`usage: moontrain ${command} [options]`), command);
    t.regex(r.stdout, command === 'train' ? /--optimizer muon\|adamw/ : /--/, command);
    t.is(r.stderr, '', command);
  }
});
