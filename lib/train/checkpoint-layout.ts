// Where a run keeps its checkpoints, so that a complete one is always reachable:
//
//   RUN/checkpoint-<step>/    complete checkpoints (each renamed into place only once complete)
//   RUN/checkpoint            a symlink to the latest one, replaced atomically (rename of a new link)
//   RUN/.checkpoint-<step>.tmp-<pid>, RUN/.checkpoint.tmp-<pid>   being written by process <pid>
//   (and the atomic writes' RUN/metrics.jsonl.tmp-<pid>, RUN/loss.svg.tmp-<pid>)
//
// Readers follow the link; when it is missing or points to an incomplete folder they fall back to
// the complete checkpoint with the highest step. Temporary entries of dead processes (a crash or
// kill -9 mid-save) are removed when a trainer starts. A run written before this layout (a plain
// RUN/checkpoint/ folder) is still read, and moved to checkpoint-<step>/ by the next save.
import * as fs from 'fs';
import * as path from 'path';

export const LATEST = 'checkpoint';
const STEP_DIR = /^checkpoint-(\d+)$/;
const TEMP = /^(?:\.?checkpoint(?:-\d+)?\.(?:tmp|old)|metrics\.jsonl\.tmp|loss\.svg\.tmp|train\.lock\.stale)-(\d+)(?:-\d+)?$/;

/** A folder holding a whole checkpoint (trainer.json is written last). */
export function isCheckpoint(dir: string): boolean {
  try {
    return fs.statSync(path.join(dir, 'trainer.json')).isFile();
  } catch {
    return false;
  }
}

/** The complete `checkpoint-<step>/` folders of a run, oldest first. */
export function listCheckpoints(runDir: string): { step: number; dir: string }[] {
  let names: string[];
  try {
    names = fs.readdirSync(runDir);
  } catch {
    return [];
  }
  return names
    .map((n) => ({ m: STEP_DIR.exec(n), n }))
    .filter((x) => x.m && isCheckpoint(path.join(runDir, x.n)))
    .map((x) => ({ step: Number(x.m![1]), dir: path.join(runDir, x.n) }))
    .sort((a, b) => a.step - b.step);
}

/** The latest complete checkpoint of a run folder (the folder the link points to), or null. */
export function latestCheckpoint(runDir: string): string | null {
  const link = path.join(runDir, LATEST);
  if (isCheckpoint(link)) return path.join(runDir, path.basename(fs.realpathSync(link)));
  const all = listCheckpoints(runDir);
  return all.length ? all[all.length - 1]!.dir : null;
}

/** True when the folder already holds (part of) a training run. */
export function holdsRun(dir: string): boolean {
  return latestCheckpoint(dir) !== null || fs.existsSync(path.join(dir, 'metrics.jsonl'));
}

/**
 * What a path given for a run means: a checkpoint folder (it holds trainer.json: RUN/checkpoint,
 * RUN/checkpoint-<step>) or a run folder (its latest checkpoint). Both give the run folder and the
 * checkpoint; checkpoint is null when the run has none.
 */
export function resolveRun(given: string): { runDir: string; checkpoint: string | null } {
  const abs = path.resolve(given), base = path.basename(abs);
  if (base === LATEST) {
    const runDir = path.dirname(abs);
    return { runDir, checkpoint: latestCheckpoint(runDir) };
  }
  if (isCheckpoint(abs)) return { runDir: STEP_DIR.test(base) ? path.dirname(abs) : abs, checkpoint: abs };
  return { runDir: abs, checkpoint: latestCheckpoint(abs) };
}

export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes the temporary checkpoint entries that dead processes left; returns their names. */
export function removeStaleTemporaries(runDir: string): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(runDir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const n of names) {
    const m = TEMP.exec(n);
    if (!m || Number(m[1]) === process.pid || pidAlive(Number(m[1]))) continue;
    fs.rmSync(path.join(runDir, n), { recursive: true, force: true });
    removed.push(n);
  }
  return removed;
}

/**
 * Test hooks: MOONTRAIN_TEST_KILL_AT_SAVE=<save>:<k>[:<rank>] kills this process (SIGKILL) at step k
 * of the save sequence of its <save>-th checkpoint (1-based), to test every crash point;
 * MOONTRAIN_TEST_FULL_DISK_AT_SAVE=<save>:<k>[:<rank>] fails there as a full disk does (ENOSPC;
 * k <= 4, while the files are written). With ranks, only rank <rank> (default 0) is hit.
 */
let saves = 0;
export function startSave(rank = 0): (k: number) => void {
  saves++;
  const current = saves;
  const at = (spec: string | undefined) => {
    const [save, k, who = 0] = (spec ?? '').split(':').map(Number);
    return spec ? (step: number) => current === save && step === k && who === rank : () => false;
  };
  const kill = at(process.env.MOONTRAIN_TEST_KILL_AT_SAVE), full = at(process.env.MOONTRAIN_TEST_FULL_DISK_AT_SAVE);
  return (k) => {
    if (kill(k)) process.kill(process.pid, 'SIGKILL');
    if (full(k)) throw Object.assign(new Error('ENOSPC: no space left on device (MOONTRAIN_TEST_FULL_DISK_AT_SAVE)'), { code: 'ENOSPC' });
  };
}

/** The steps of a save, after the checkpoint's files are complete in `tmp`; returns the final folder. */
export function publishCheckpoint(runDir: string, tmp: string, step: number, keep: number, stop: (k: number) => void): string {
  const final = path.join(runDir, `checkpoint-${step}`);
  const link = path.join(runDir, LATEST);
  // A run in the old layout: its plain checkpoint/ folder becomes checkpoint-<its step>/.
  let linkStat: fs.Stats | undefined;
  try {
    linkStat = fs.lstatSync(link);
  } catch {
    // no link yet
  }
  if (linkStat?.isDirectory()) {
    const old = JSON.parse(fs.readFileSync(path.join(link, 'trainer.json'), 'utf8')) as { step: number };
    const to = path.join(runDir, `checkpoint-${old.step}`);
    if (!fs.existsSync(to)) fs.renameSync(link, to);
    else fs.rmSync(link, { recursive: true, force: true });
  }
  // The same step saved again (an interrupt right after a scheduled checkpoint, or a resume from
  // an earlier one): the new copy replaces the old; a crash in between leaves the link dangling,
  // and readers fall back to the latest other complete checkpoint.
  const displaced = path.join(runDir, `.checkpoint-${step}.old-${process.pid}`);
  if (fs.existsSync(final)) fs.renameSync(final, displaced);
  stop(5);
  fs.renameSync(tmp, final);
  stop(6);
  const tmpLink = path.join(runDir, `.checkpoint.tmp-${process.pid}`);
  fs.rmSync(tmpLink, { force: true });
  fs.symlinkSync(`checkpoint-${step}`, tmpLink);
  fs.renameSync(tmpLink, link);
  fsyncDir(runDir);
  stop(7);
  fs.rmSync(displaced, { recursive: true, force: true });
  if (keep > 0) {
    const all = listCheckpoints(runDir).filter((c) => c.dir !== final);
    for (const c of all.slice(0, Math.max(0, all.length - (keep - 1)))) fs.rmSync(c.dir, { recursive: true, force: true });
  }
  stop(8);
  return final;
}

function fsyncDir(dir: string): void {
  try {
    const fd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    // not every file system lets a directory be fsynced
  }
}
