// The run folder a trainer writes to: a folder (not a file), writable, locked for this trainer,
// and never holding another run unless --overwrite says so.
import * as fs from 'fs';
import * as path from 'path';
import { holdsRun, removeStaleTemporaries } from '../train/checkpoint-layout';
import { lockRun, LOCK_FILE } from '../train/run-lock';
import { UsageError } from './args';

export interface PrepareOutOptions {
  /** Continuing the run that is in this folder (--resume without another --out). */
  resumeInPlace: boolean;
  overwrite: boolean;
  notice: (line: string) => void;
}

/** Makes `out` ready for a trainer; it holds the folder's lock until this process exits. */
export function prepareOut(out: string, o: PrepareOutOptions): void {
  if (fs.existsSync(out) && !fs.statSync(out).isDirectory()) throw new UsageError(`moontrain train: --out ${out} is a file; expected a folder for the run`);
  try {
    // The last level on its own: a recursive mkdir reports EROFS as ENOENT.
    fs.mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
    if (!fs.existsSync(out)) fs.mkdirSync(out);
    fs.accessSync(out, fs.constants.W_OK);
  } catch (e) {
    throw new UsageError(`moontrain train: --out ${out}: cannot write there (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  try {
    lockRun(out, o.notice);
  } catch (e) {
    if ((e as { code?: string }).code === 'ERR_MOONTRAIN_RUN_LOCKED') throw e;
    throw new UsageError(`moontrain train: --out ${out}: cannot create ${LOCK_FILE} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  for (const n of removeStaleTemporaries(out)) o.notice(`notice: removed ${path.join(out, n)}, left by a process that is gone`);
  if (o.resumeInPlace || !holdsRun(out)) return;
  if (!o.overwrite) {
    throw new UsageError(`moontrain train: ${out} already holds a run; continue it with --resume ${out}, or start a new one there with --overwrite (deletes it)`);
  }
  for (const n of fs.readdirSync(out)) {
    if (n === LOCK_FILE) continue;
    if (/^checkpoint(-\d+)?$/.test(n) || /^events\.out\.tfevents\./.test(n) || n === 'metrics.jsonl' || n === 'loss.svg') fs.rmSync(path.join(out, n), { recursive: true, force: true });
  }
  o.notice(`notice: --overwrite: removed the earlier run in ${out}`);
}
