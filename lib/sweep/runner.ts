// Runs a sweep's runs one at a time, each as a `moontrain train` process in OUT/runs/<id>/, and
// appends one line per finished run to OUT/results.jsonl. Resumable: a run with a line in
// results.jsonl is never rerun; a run with a checkpoint short of its steps continues from it
// (--resume, bit-identical to an uninterrupted run). SIGINT is passed to the running training,
// which saves a checkpoint; the sweep then stops.
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parseConfig } from '../nn/config';
import { checkpointDir } from '../train/checkpoint';
import { modelFlops, newtonSchulzFlopsPerStep } from './flops';
import type { SweepRun } from './spec';

export interface RunResult {
  id: string;
  label: string;
  optimizer: string;
  lr: number;
  seed: number;
  tokens: number;
  steps: number;
  flags: SweepRun['flags'];
  /** Final validation loss (the run's last evaluation, at its last step). */
  val_loss: number;
  /** Mean training loss over the last 5% of the steps (at least one). */
  train_loss: number;
  model_flops: number;
  newton_schulz_flops: number;
  /** Seconds in training steps (evaluation and checkpoints excluded), summed over the run. */
  train_s: number;
  /** Seconds of the training process(es), evaluation included. */
  wall_s: number;
  /** Validation tokens per byte of text (for bits per byte), when the data has a byte count. */
  val_tokens_per_byte?: number;
  finished_at: string;
}

export function readResults(dir: string): RunResult[] {
  const file = path.join(dir, 'results.jsonl');
  if (!fs.existsSync(file)) return [];
  return fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.trim()).flatMap((l) => {
    try {
      return [JSON.parse(l) as RunResult];
    } catch {
      return [];  // a torn last line from a crash: that run is simply run again
    }
  });
}

function cliEntry(): { node: string; args: string[] } {
  const entry = require.resolve('../cli');
  const args = [...process.execArgv];
  if (entry.endsWith('.ts') && !args.some((a) => a.includes('tsx'))) args.push('--import', 'tsx');
  return { node: process.execPath, args: [...args, entry] };
}

function flagArgs(flags: SweepRun['flags']): string[] {
  return Object.entries(flags).flatMap(([k, v]) => (typeof v === 'boolean' ? (v ? [`--${k}`] : []) : [`--${k}`, String(v)]));
}

function trainedSteps(runDir: string): number {
  const file = path.join(checkpointDir(runDir), 'trainer.json');
  return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as { step: number }).step : 0;
}

/** Reads a finished run's metrics and checkpoint into its results line. */
export function summarizeRun(run: SweepRun, runDir: string, wallSeconds: number): RunResult {
  const rows = fs.readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as Record<string, number>);
  const steps = run.flags.steps as number;
  const last = rows[rows.length - 1];
  if (!last || last.step !== steps - 1 || last.val_loss === undefined)
    throw Object.assign(new Error(`moontrain sweep: run ${run.id}: metrics.jsonl does not end with an evaluation at step ${steps - 1} (set eval-every to divide the steps, or leave it at its default)`), { code: 'ERR_MOONTRAIN_SWEEP_RUN' });
  const tail = rows.slice(-Math.max(1, Math.round(steps * 0.05)));
  const config = parseConfig(path.join(checkpointDir(runDir), 'config.json'));
  const seqLen = run.flags['seq-len'] as number;
  const perStep = (run.flags['batch-size'] as number) * ((run.flags['grad-accum'] as number | undefined) ?? 1) * seqLen;
  const state = JSON.parse(fs.readFileSync(path.join(checkpointDir(runDir), 'trainer.json'), 'utf8')) as { valTokensPerByte?: number };
  const result: RunResult = {
    id: run.id, label: run.label, optimizer: String(run.flags.optimizer ?? 'muon'), lr: Number(run.flags.lr), seed: Number(run.flags.seed ?? 1),
    tokens: last.tokens, steps, flags: run.flags,
    val_loss: last.val_loss,
    train_loss: tail.reduce((a, r) => a + r.loss, 0) / tail.length,
    model_flops: modelFlops(config, seqLen, last.tokens),
    newton_schulz_flops: (run.flags.optimizer ?? 'muon') === 'muon' ? steps * newtonSchulzFlopsPerStep(config) : 0,
    train_s: rows.reduce((a, r) => a + perStep / r.tokens_per_s, 0),
    wall_s: wallSeconds,
    finished_at: new Date().toISOString(),
  };
  if (state.valTokensPerByte) result.val_tokens_per_byte = state.valTokensPerByte;
  return result;
}

export interface SweepOptions {
  out: string;
  log?: (line: string) => void;
}

/** OUT/sweep.lock holds the pid of the sweep running there; a lock whose process is gone is taken over. */
function lock(out: string): () => void {
  const file = path.join(out, 'sweep.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(file, String(process.pid), { flag: 'wx' });
      return () => fs.rmSync(file, { force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const pid = Number(fs.readFileSync(file, 'utf8'));
      let alive = false;
      try {
        alive = pid > 0 && (process.kill(pid, 0), true);
      } catch (err) {
        alive = (err as NodeJS.ErrnoException).code === 'EPERM';
      }
      if (alive) throw Object.assign(new Error(`moontrain sweep: ${out} is in use by process ${pid} (another sweep); wait for it or stop it`), { code: 'ERR_MOONTRAIN_SWEEP_LOCKED' });
      fs.rmSync(file, { force: true });
    }
  }
  throw Object.assign(new Error(`moontrain sweep: could not lock ${file}`), { code: 'ERR_MOONTRAIN_SWEEP_LOCKED' });
}

/** Runs what is not done yet; resolves 'done' or 'interrupted'. */
export async function runSweep(runs: SweepRun[], o: SweepOptions): Promise<'done' | 'interrupted'> {
  const log = o.log ?? ((l: string) => process.stderr.write(l + '\n'));
  fs.mkdirSync(path.join(o.out, 'runs'), { recursive: true });
  const unlock = lock(o.out);
  const done = new Set(readResults(o.out).map((r) => r.id));
  const todo = runs.filter((r) => !done.has(r.id));
  log(`moontrain sweep: ${runs.length} runs, ${runs.length - todo.length} done, ${todo.length} to run -> ${o.out}`);
  const { node, args } = cliEntry();
  let interrupted = false;
  let child: ReturnType<typeof spawn> | null = null;
  const onSigint = () => {
    interrupted = true;
    log('moontrain sweep: interrupted; the current run saves a checkpoint (the next `moontrain sweep` resumes it)');
    child?.kill('SIGINT');
  };
  process.on('SIGINT', onSigint);
  try {
    for (const [i, run] of todo.entries()) {
      if (interrupted) break;
      const dir = path.join(o.out, 'runs', run.id);
      const steps = run.flags.steps as number;
      const at = trainedSteps(dir);
      // A run stopped before its first checkpoint starts again (--overwrite clears its metrics, keeps train.log).
      const argv = at > 0 ? ['train', '--resume', dir, '--steps', String(steps)] : ['train', ...flagArgs(run.flags), '--out', dir, '--overwrite'];
      log(`[${i + 1}/${todo.length}] ${run.id}${at > 0 ? ` (resuming at step ${at})` : ''}`);
      fs.mkdirSync(dir, { recursive: true });
      const logFd = fs.openSync(path.join(dir, 'train.log'), 'a');
      const t0 = process.hrtime.bigint();
      child = spawn(node, [...args, ...argv], { stdio: ['ignore', logFd, logFd] });
      // A signal that arrives before the run installs its handlers kills it outright: 128 + signal, as a shell reports it.
      const code = await new Promise<number>((resolve) => child!.on('exit', (c, sig) => resolve(c ?? 128 + (sig ? os.constants.signals[sig] : 0))));
      child = null;
      fs.closeSync(logFd);
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      const prior = fs.existsSync(path.join(dir, 'wall_s')) ? Number(fs.readFileSync(path.join(dir, 'wall_s'), 'utf8')) : 0;
      fs.writeFileSync(path.join(dir, 'wall_s'), String(prior + seconds));
      // A run stopped by the forwarded Ctrl-C exits 130 (143 for SIGTERM) after its checkpoint.
      if (code !== 0 && !(interrupted && (code === 130 || code === 143))) throw Object.assign(new Error(`moontrain sweep: run ${run.id} failed (exit ${code}); see ${path.join(dir, 'train.log')}`), { code: 'ERR_MOONTRAIN_SWEEP_RUN' });
      if (trainedSteps(dir) < steps) break;  // interrupted: its checkpoint waits for the next sweep
      const r = summarizeRun(run, dir, prior + seconds);
      fs.appendFileSync(path.join(o.out, 'results.jsonl'), JSON.stringify(r) + '\n');
      log(`    val_loss ${r.val_loss.toFixed(4)}, train_loss ${r.train_loss.toFixed(4)}, ${r.train_s.toFixed(0)} s training`);
    }
  } finally {
    process.off('SIGINT', onSigint);
    unlock();
  }
  return interrupted || readResults(o.out).filter((r) => runs.some((x) => x.id === r.id)).length < runs.length ? 'interrupted' : 'done';
}
