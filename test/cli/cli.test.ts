// The command line, as a user runs it: train on a token file, resume, SIGINT, eval, sample,
// info, and clear failures.
import test from 'ava';
import { spawn, spawnSync } from 'child_process';
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

/** Runs with `dir` read-only: a read-only bind mount in a mount namespace as root, else chmod. */
function cliReadOnly(dir: string, args: string[]) {
  if (process.getuid?.() !== 0) {
    fs.chmodSync(dir, 0o555);
    return cli(args);
  }
  const script = `mount --bind "$0" "$0" && mount -o remount,ro,bind "$0" "$0" && exec "$@"`;
  return spawnSync('unshare', ['-m', 'sh', '-c', script, dir, process.execPath, '--import', require.resolve('tsx'), path.join(root, 'lib', 'cli.ts'), ...args], { cwd: root, encoding: 'utf8' });
}

/** Copies a run folder (its checkpoint link kept as a link). */
function copyRun(from: string, name: string): string {
  const to = path.join(tmp, name);
  fs.cpSync(from, to, { recursive: true, verbatimSymlinks: true });
  return to;
}

test('bad input ends with one clear line and a non-zero exit, never a stack', (t) => {
  // Runs and files the cases below need.
  const base = path.join(tmp, 'bad-base'), adam = path.join(tmp, 'bad-adam'), b6 = path.join(tmp, 'bad-b6');
  for (const [dir, extra] of [[base, []], [adam, ['--optimizer', 'adamw']], [b6, ['--batch-size', '6']]] as const)
    t.is(cli(['train', ...common, ...extra, '--steps', '2', '--out', dir]).status, 0, dir);
  const mismatch = copyRun(base, 'bad-mismatch');
  const cfgFile = path.join(mismatch, 'checkpoint', 'config.json');
  fs.writeFileSync(cfgFile, JSON.stringify({ ...JSON.parse(fs.readFileSync(cfgFile, 'utf8')), moe_intermediate_size: 20 }));
  const optMix = copyRun(base, 'bad-optmix');
  fs.copyFileSync(path.join(adam, 'checkpoint', 'optimizer.safetensors'), path.join(optMix, 'checkpoint', 'optimizer.safetensors'));
  const truncated = copyRun(base, 'bad-truncated');
  const tj = path.join(truncated, 'checkpoint', 'trainer.json');
  fs.writeFileSync(tj, fs.readFileSync(tj, 'utf8').slice(0, 40));
  const incomplete = copyRun(base, 'bad-incomplete');
  fs.writeFileSync(path.join(incomplete, 'checkpoint', 'trainer.json'), '{"step": 2}');
  const aFile = path.join(tmp, 'a-file');
  fs.writeFileSync(aFile, 'x');
  const huge = path.join(tmp, 'huge.json');
  fs.writeFileSync(huge, JSON.stringify({ ...JSON.parse(fs.readFileSync(micro, 'utf8')), hidden_size: 16384, intermediate_size: 65536, moe_intermediate_size: 16384, num_hidden_layers: 200, n_routed_experts: 64 }));
  const theta0 = path.join(tmp, 'theta0.json');
  fs.writeFileSync(theta0, JSON.stringify({ ...JSON.parse(fs.readFileSync(micro, 'utf8')), rope_theta: 0 }));
  const fifo = path.join(tmp, 'fifo');
  spawnSync('mkfifo', [fifo]);

  const cases: [string[], RegExp, Record<string, string>?][] = [
    [['train', '--config', 'no-such-preset'], /--config: expected tiny, small, moonlight-16b-a3b or the path/],
    [['train', '--steps', '0'], /--steps: expected an integer >= 1, got '0'/],
    [['train', '--optimizer', 'sgd'], /--optimizer: expected one of muon, adamw, got 'sgd'/],
    [['train', '--config', micro, '--data', path.join(tmp, 'missing.bin')], /missing\.bin/],
    [['train', '--bogus'], /Unknown option '--bogus'/],
    [['eval'], /--checkpoint DIR is required/],
    [['eval', '--checkpoint', path.join(tmp, 'nothing-here')], /no checkpoint in/],
    [['frobnicate'], /unknown command 'frobnicate'/],
    // issue 15
    [['eval', '--checkpoint', mismatch], /the checkpoint .* does not fit its config\.json/],
    [['train', '--resume', optMix, '--steps', '3'], /optimizer\.safetensors: the optimizer state does not fit this model and optimizer/],
    [['eval', '--checkpoint', truncated], /trainer\.json: not valid JSON .* truncated or damaged/],
    [['train', '--resume', incomplete], /trainer\.json: incomplete trainer state .*missing tokens, seed/],
    [['train', ...common, '--out', aFile], /--out .*a-file is a file; expected a folder/],
    [['train', ...common, '--nproc', '65', '--batch-size', '65'], /--nproc: expected an integer in \[1, 64\], got 65/],
    [['train', ...common, '--config', huge], /--config .*huge\.json needs at least [\d.]+ GiB for its weights, gradients and muon state .* this machine has [\d.]+ GiB/],
    [['train', '--config', 'tiny', '--seq-len', '4096'], /--seq-len 4096 exceeds the config's max_position_embeddings 512/],
    [['train', '--config', theta0], /rope_theta.*> 0/],
    [['train', '--steps', '0x10'], /--steps: expected an integer >= 1, got '0x10'/],
    [['train', '--lr', ' 1'], /--lr: expected a number >= 0, got ' 1'/],
    [['train', ...common, '--data', fifo], /--data .*fifo: expected a regular file, got a FIFO/],
    [['info'], /MOONTRAIN_NUM_THREADS: expected an integer in \[1, 1024\].*got 'abc'/, { MOONTRAIN_NUM_THREADS: 'abc' }],
    [['info'], /MOONTRAIN_ISA: expected one of scalar, avx2, avx512, avx512bf16, amx, got 'bogus'/, { MOONTRAIN_ISA: 'bogus' }],
    [['train', '--resume', b6, '--nproc', '4'], /--batch-size 6 \(the run's\) must divide evenly over --nproc 4/],
  ];
  for (const [args, re, env] of cases) {
    const r = cli(args, env);
    const label = `${env ? `${Object.entries(env).map(([k, v]) => `${k}=${v}`).join(' ')} ` : ''}${args.join(' ')}`;
    t.not(r.status, 0, label);
    t.regex(r.stderr, re, label);
    t.notRegex(r.stderr, /\n\s+at /, `no stack trace for ${label}`);
    t.notRegex(r.stderr.trim().split('\n').pop()!, /^\s*$/, label);
  }
  const ro = path.join(tmp, 'read-only');
  fs.mkdirSync(ro);
  const r = cliReadOnly(ro, ['train', ...common, '--out', path.join(ro, 'run')]);
  t.not(r.status, 0);
  t.regex(r.stderr, /--out .*read-only\/run: cannot write there \((EROFS|EACCES)\)/);
  t.notRegex(r.stderr, /\n\s+at /);
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
