// Sharded ZeRO-1 checkpoints through the command line, real processes: each of 4 ranks writes its
// own optimizer shard; the run resumes on 3 ranks and on one process (no ZeRO) on the same losses
// as from an unsharded checkpoint of the same run; a rank killed at any point of a save leaves the
// last complete checkpoint, from which the run resumes bit-identically.
import test from 'ava';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { latestCheckpoint } from '../../lib/train/checkpoint-layout';
import { writeMicroRun } from '../helpers/micro-run';

const root = path.join(__dirname, '..', '..');
const CLI = path.join(root, 'lib', 'cli.ts');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-ckshards-'));
test.after.always(() => fs.rmSync(tmp, { recursive: true, force: true }));
const { config, data } = writeMicroRun(tmp);

function cli(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, ['--import', 'tsx', CLI, ...args], { cwd: root, encoding: 'utf8', env: { ...process.env, ...env } });
}

const train = (nproc: number, steps: number, out: string, extra: string[] = [], env: Record<string, string> = {}) =>
  cli(['train', '--config', config, '--data', data, '--batch-size', '12', '--seq-len', '16', '--steps', String(steps), '--eval-every', '3',
    '--eval-batches', '4', '--precision', 'f32', '--lr', '0.01', '--warmup', '2', '--optimizer', 'muon', '--nproc', String(nproc), '--out', out, ...extra], env);

/** Loss and validation loss of every step (the timings differ from run to run). */
function rows(dir: string): { loss: number; val_loss?: number }[] {
  return fs.readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => {
    const r = JSON.parse(l);
    return { step: r.step, loss: r.loss, val_loss: r.val_loss };
  });
}

function copyRun(from: string, to: string): string {
  fs.cpSync(from, to, { recursive: true, verbatimSymlinks: true });
  return to;
}

test('saved by 4 ranks, resumed on 3 ranks and on one process: the losses of resuming from an unsharded checkpoint of the same run', (t) => {
  const full = path.join(tmp, 'full'), sharded = path.join(tmp, 'sharded'), whole = path.join(tmp, 'whole');
  for (const r of [train(4, 12, full), train(4, 12, sharded, ['--stop-after', '6']), train(4, 12, whole, ['--stop-after', '6'], { MOONTRAIN_TEST_CONSOLIDATED_CHECKPOINT: '1' })])
    t.is(r.status, 0, r.stderr);
  const files = (dir: string) => fs.readdirSync(latestCheckpoint(dir)!).filter((f) => f.startsWith('optimizer')).sort();
  t.deepEqual(files(sharded), ['optimizer-rank-0-of-4.safetensors', 'optimizer-rank-1-of-4.safetensors', 'optimizer-rank-2-of-4.safetensors', 'optimizer-rank-3-of-4.safetensors', 'optimizer.index.json']);
  t.deepEqual(files(whole), ['optimizer.safetensors']);
  t.deepEqual(rows(sharded), rows(whole), 'the two runs are the same up to the checkpoint');
  const base = rows(full);
  for (const nproc of [3, 1]) {
    const a = copyRun(sharded, path.join(tmp, `sharded-on-${nproc}`)), b = copyRun(whole, path.join(tmp, `whole-on-${nproc}`));
    for (const dir of [a, b]) {
      const r = cli(['train', '--resume', dir, '--nproc', String(nproc)]);
      t.is(r.status, 0, r.stderr);
    }
    // The same state is loaded from either checkpoint, so the same ranks compute the same losses.
    t.deepEqual(rows(a), rows(b), `resumed on ${nproc}: sharded and unsharded checkpoints give the same losses`);
    // Against the uninterrupted 4-rank run: only the order of the gradient reductions differs.
    const l = rows(a);
    t.is(l.length, 12);
    const worst = Math.max(...l.map((row, i) => Math.abs(row.loss - base[i].loss) / base[i].loss));
    t.true(worst <= 1e-5, `resumed on ${nproc}: worst relative loss difference ${worst} from the uninterrupted run`);
  }
});

test('a rank killed at any point of a sharded save leaves the last complete checkpoint; the run resumes bit-identically', (t) => {
  const full = path.join(tmp, 'kill-full');
  const args = ['--checkpoint-every', '2'];
  t.is(train(4, 6, full, args).status, 0);
  // <point>:<rank> of the second save: rank 0 killed with the model written while the others write
  // their shards; rank 3 killed before writing its shard, and with it written, before the barrier;
  // rank 0 killed after the barrier, before trainer.json.
  for (const at of ['2:0', '1:3', '2:3', '3:0']) {
    const dir = path.join(tmp, `kill-${at.replace(':', '-')}`);
    const killed = train(4, 6, dir, args, { MOONTRAIN_TEST_KILL_AT_SAVE: `2:${at}` });
    t.not(killed.status, 0, `${at}: the job stops`);
    // The launcher names the killed rank, or a peer that saw it die first.
    t.regex(killed.stderr, new RegExp(`rank ${at.split(':')[1]} (exited with code 137|\\(pid \\d+\\) died)`), at);
    const step = JSON.parse(fs.readFileSync(path.join(latestCheckpoint(dir)!, 'trainer.json'), 'utf8')).step;
    t.is(step, 2, `${at}: the last complete checkpoint is reachable`);
    t.true(fs.readdirSync(dir).some((n) => /^\.checkpoint-4\.tmp-/.test(n)), `${at}: the save was under way`);
    const r = cli(['train', '--resume', dir, '--nproc', '4']);
    t.is(r.status, 0, `${at}: ${r.stderr}`);
    t.deepEqual(rows(dir), rows(full), at);
    t.deepEqual(fs.readdirSync(dir).filter((n) => /tmp|old/.test(n)), [], `${at}: temporaries of the killed job removed`);
  }
});

test('a full disk while the ranks write their shards: every rank goes on, the partial checkpoint is removed, the last one kept', (t) => {
  if (process.getuid?.() !== 0) return t.pass('needs root for a tmpfs in a mount namespace');
  const mnt = path.join(tmp, 'small');
  fs.mkdirSync(mnt);
  // A checkpoint of the micro model on 2 ranks is ~400 KB: two fit in 1000 KB, the third does not.
  const script = `mount -t tmpfs -o size=1000k tmpfs "$0" && exec "$@"`;
  const r = spawnSync('unshare', ['-m', 'sh', '-c', script, mnt, process.execPath, '--import', require.resolve('tsx'), CLI,
    'train', '--config', config, '--data', data, '--batch-size', '12', '--seq-len', '16', '--steps', '5', '--precision', 'f32', '--optimizer', 'muon',
    '--checkpoint-every', '1', '--keep-checkpoints', '0', '--eval-every', '100', '--nproc', '2', '--out', path.join(mnt, 'run')], { encoding: 'utf8' });
  t.regex(r.stderr, /the checkpoint at step 3 could not be written \(ENOSPC: no space left on the device of .*\); kept .*\/checkpoint-2; training goes on/);
  t.regex(r.stderr, /step 5\/5/, 'training went on after the failed checkpoint');
  t.is(r.status, 1);
  t.regex(r.stderr, /the checkpoint at step 5 could not be written .*; kept .*\/checkpoint-2\n/);
  t.notRegex(r.stderr, /\n\s+at /);
  t.notRegex(r.stderr, /\.tmp-/, 'no partial checkpoint named');
});

test('a rank other than 0 that cannot write its shard: no rank publishes, every rank goes on, the next checkpoint is whole', (t) => {
  const dir = path.join(tmp, 'one-full');
  // Rank 1 fails the second save (step 2) after its shard, as on a full disk; rank 0 wrote everything.
  const r = train(2, 3, dir, ['--checkpoint-every', '1', '--keep-checkpoints', '0'], { MOONTRAIN_TEST_FULL_DISK_AT_SAVE: '2:2:1' });
  t.is(r.status, 0, r.stderr);
  t.regex(r.stderr, /the checkpoint at step 2 could not be written \(ENOSPC: no space left on the device of .*\); kept .*\/checkpoint-1; training goes on/);
  t.deepEqual(fs.readdirSync(dir).filter((n) => n.startsWith('checkpoint') || n.includes('tmp')).sort(), ['checkpoint', 'checkpoint-1', 'checkpoint-3']);
  t.deepEqual(fs.readdirSync(path.join(dir, 'checkpoint-3')).filter((f) => f.startsWith('optimizer')).sort(),
    ['optimizer-rank-0-of-2.safetensors', 'optimizer-rank-1-of-2.safetensors', 'optimizer.index.json']);
});
