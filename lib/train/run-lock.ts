// One trainer per run folder: RUN/train.lock, created exclusively (O_EXCL) and holding the pid of
// its owner. A second trainer fails at once; a lock whose process is gone (kill -9, a crash) is
// taken over with a notice. Under --nproc the launcher holds it for all of its ranks.
import * as fs from 'fs';
import * as path from 'path';
import { pidAlive } from './checkpoint-layout';

export const LOCK_FILE = 'train.lock';

export interface RunLock {
  file: string;
  release(): void;
}

function lockError(message: string): Error & { code: string } {
  return Object.assign(new Error(message), { code: 'ERR_MOONTRAIN_RUN_LOCKED' });
}

/** Takes RUN/train.lock for this process; `notice` hears about a stale lock taken over. */
export function lockRun(runDir: string, notice: (line: string) => void): RunLock {
  const file = path.join(runDir, LOCK_FILE);
  for (let attempt = 0; attempt < 3; ++attempt) {
    let fd: number;
    try {
      fd = fs.openSync(file, 'wx');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      let owner = NaN;
      try {
        owner = Number.parseInt(fs.readFileSync(file, 'utf8'), 10);
      } catch {
        continue; // removed meanwhile: try again
      }
      if (owner === process.pid || pidAlive(owner)) {
        throw lockError(`moontrain train: ${runDir} is in use by another trainer (process ${owner}, ${file}); wait for it to end or use another --out`);
      }
      // Take over by renaming the stale file away: of several racing trainers only one succeeds.
      const aside = `${file}.stale-${process.pid}`;
      try {
        fs.renameSync(file, aside);
      } catch {
        continue;
      }
      const moved = Number.parseInt(fs.readFileSync(aside, 'utf8'), 10);
      fs.rmSync(aside, { force: true });
      if (moved !== owner) continue; // we moved a fresh lock by another trainer: it lost it; retry
      notice(`notice: taking over the lock of process ${owner}, which is no longer running (${file})`);
      continue;
    }
    fs.writeSync(fd, `${process.pid}\n`);
    fs.closeSync(fd);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      try {
        if (Number.parseInt(fs.readFileSync(file, 'utf8'), 10) === process.pid) fs.rmSync(file, { force: true });
      } catch {
        // already gone
      }
    };
    process.once('exit', release);
    return { file, release };
  }
  throw lockError(`moontrain train: could not take the lock ${file} (other trainers keep racing for it)`);
}
