// `moontrain info --run DIR`: a run's settings (run.json) and where it stands: the last step
// logged, the latest complete checkpoint, the last validation loss, and whether a trainer holds
// the folder now.
import * as fs from 'fs';
import * as path from 'path';
import { readTrainerState } from '../train/checkpoint';
import { latestCheckpoint, pidAlive } from '../train/checkpoint-layout';
import { LOCK_FILE } from '../train/run-lock';
import { UsageError } from './args';
import { readRunJson, RUN_JSON } from './run-json';

export interface RunStatus {
  run: string;
  settings: Record<string, unknown> | null;
  /** Steps trained by the last row of metrics.jsonl (its step + 1, as the progress line counts). */
  steps_done: number | null;
  checkpoint: string | null;
  checkpoint_step: number | null;
  val_loss: number | null;
  /** Steps trained when val_loss was measured. */
  val_loss_after: number | null;
  /** The pid of the trainer holding the folder, or null. */
  running: number | null;
}

function lastRows(file: string): Record<string, number>[] {
  if (!fs.existsSync(file)) return [];
  const rows: Record<string, number>[] = [];
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    try {
      if (line.trim()) rows.push(JSON.parse(line) as Record<string, number>);
    } catch {
      // a line cut short by a crash mid-write: the rows before it still count
    }
  }
  return rows;
}

function holder(dir: string): number | null {
  try {
    const pid = Number.parseInt(fs.readFileSync(path.join(dir, LOCK_FILE), 'utf8'), 10);
    return Number.isInteger(pid) && pid > 0 && pidAlive(pid) ? pid : null;
  } catch {
    return null;
  }
}

export function runStatus(dir: string): RunStatus {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new UsageError(`moontrain info: --run ${dir}: expected a run folder, got ${fs.existsSync(dir) ? 'a file' : 'nothing there'}`);
  const settings = readRunJson(dir) ?? null;
  const checkpoint = latestCheckpoint(dir);
  const rows = lastRows(path.join(dir, 'metrics.jsonl'));
  if (!settings && !checkpoint && rows.length === 0) throw new UsageError(`moontrain info: --run ${dir}: no run there (no ${RUN_JSON}, checkpoint or metrics.jsonl)`);
  const val = [...rows].reverse().find((r) => Number.isFinite(r.val_loss));
  return {
    run: path.resolve(dir),
    settings,
    steps_done: rows.length ? rows[rows.length - 1]!.step! + 1 : null,
    checkpoint,
    checkpoint_step: checkpoint ? readTrainerState(checkpoint).step : null,
    val_loss: val?.val_loss ?? null,
    val_loss_after: val ? val.step! + 1 : null,
    running: holder(dir),
  };
}

export function printRunStatus(s: RunStatus): void {
  console.log(`run ${s.run}${s.running ? ` (running: pid ${s.running})` : ''}`);
  const steps = s.settings?.steps;
  console.log(`step ${s.steps_done ?? 0}${steps !== undefined ? `/${steps}` : ''}; checkpoint ${s.checkpoint ? `${s.checkpoint} (step ${s.checkpoint_step})` : 'none'}; ` +
    `validation loss ${s.val_loss !== null ? `${s.val_loss.toFixed(4)} at step ${s.val_loss_after}` : 'none yet'}`);
  if (!s.settings) {
    console.log(`settings: no ${RUN_JSON} (a run from before it was written)`);
    return;
  }
  console.log(`settings (${RUN_JSON}):`);
  const width = Math.max(...Object.keys(s.settings).map((k) => k.length));
  for (const [k, v] of Object.entries(s.settings)) console.log(`  ${k.padEnd(width)}  ${String(v)}`);
}
