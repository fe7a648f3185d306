// Atomic file writes: write `<file>.tmp-<pid>[-<threadId>]`, fsync, rename over `file`, then fsync
// the directory (best effort). A reader never sees a half-written file, and a crash leaves either
// the old file or the new one.
import * as fs from 'fs';
import * as path from 'path';
import { threadId } from 'worker_threads';

/** Writes the chunks to `file` atomically. */
export function writeFileAtomic(file: string, chunks: readonly Uint8Array[]): void {
  const tmp = `${file}.tmp-${process.pid}${threadId ? `-${threadId}` : ''}`;
  const fd = fs.openSync(tmp, 'w');
  let renamed = false;
  try {
    try {
      for (const data of chunks) {
        let done = 0;
        while (done < data.length) done += fs.writeSync(fd, data, done, data.length - done);
      }
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
    renamed = true;
  } finally {
    if (!renamed) {
      try {
        fs.unlinkSync(tmp);
      } catch {
        // already gone
      }
    }
  }
  try {
    const dfd = fs.openSync(path.dirname(path.resolve(file)), 'r');
    try {
      fs.fsyncSync(dfd);
    } finally {
      fs.closeSync(dfd);
    }
  } catch {
    // not every file system lets a directory be fsynced
  }
}
