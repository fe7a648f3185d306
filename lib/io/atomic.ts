// Atomic file writes: write `<file>.tmp-<pid>[-<threadId>]`, fsync, rename over `file`, then fsync
// the directory (best effort). A reader never sees a half-written file, and a crash (or a full
// disk) leaves either the old file or the new one.
import * as fs from 'fs';
import * as path from 'path';
import { threadId } from 'worker_threads';

/** Writes all of data at fd (writeSync may write less than asked). */
export function writeAll(fd: number, data: Uint8Array): void {
  let done = 0;
  while (done < data.length) done += fs.writeSync(fd, data, done, data.length - done);
}

/** Calls write(fd) on a temporary file, then swaps it in for `file` atomically. */
export function withAtomicFile(file: string, write: (fd: number) => void): void {
  const tmp = `${file}.tmp-${process.pid}${threadId ? `-${threadId}` : ''}`;
  const fd = fs.openSync(tmp, 'w');
  let renamed = false;
  try {
    try {
      write(fd);
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

/** Writes the chunks (or a string, as UTF-8) to `file` atomically. */
export function writeFileAtomic(file: string, chunks: readonly Uint8Array[] | string): void {
  const list = typeof chunks === 'string' ? [Buffer.from(chunks, 'utf8')] : chunks;
  withAtomicFile(file, (fd) => {
    for (const data of list) writeAll(fd, data);
  });
}
