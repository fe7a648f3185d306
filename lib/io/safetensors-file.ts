// The safetensors code's file access and its Error for bad files: every problem with a file is an
// Error with code 'ERR_MOONTRAIN_BAD_SAFETENSORS' that names the file (and the tensor to blame).
import * as fs from 'fs';
import * as os from 'os';

export const BAD_SAFETENSORS = 'ERR_MOONTRAIN_BAD_SAFETENSORS';

// Chunk size of reads and conversions; a test hook can lower it to exercise the chunk loops.
let chunk = 16 * 1024 * 1024;

/** The chunk size of reads and conversions, in bytes (a multiple of 8). */
export function chunkBytes(): number {
  return chunk;
}

/** For tests: the chunk size of reads and conversions (rounded down to a multiple of 8, at least 8). */
export function _setChunkBytesForTests(n: number): number {
  const prev = chunk;
  chunk = Math.max(8, Math.floor(n / 8) * 8);
  return prev;
}

export function quote(name: string): string {
  return `'${name}'`;
}

/** An Error about a file's contents: `safetensors: <file>: tensor '<name>': <what>`. */
export function bad(file: string, name: string | undefined, what: string, cause?: unknown): Error {
  const where = name === undefined ? '' : `tensor ${quote(name)}: `;
  const e = new Error(`safetensors: ${file}: ${where}${what}`, cause === undefined ? undefined : { cause });
  return Object.assign(e, { code: BAD_SAFETENSORS, file, tensor: name });
}

export function checkLittleEndian(op: string): void {
  if (os.endianness() !== 'LE') throw new Error(`${op}: safetensors I/O needs a little-endian host`);
}

/** Opens a file for reading; a failure is a BAD_SAFETENSORS Error that keeps the fs error as cause. */
export function openForRead(file: string, what = 'cannot open'): { fd: number; size: number } {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (e) {
    throw bad(file, undefined, `${what}: ${(e as Error).message}`, e);
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw bad(file, undefined, 'not a regular file');
    return { fd, size: st.size };
  } catch (e) {
    fs.closeSync(fd);
    throw e;
  }
}

/** Fills `into` from the file at `position`, in chunks; a short file is an Error, never a short read. */
export function readExact(fd: number, into: Uint8Array, position: number, file: string, name: string | undefined): void {
  let done = 0;
  while (done < into.length) {
    const len = Math.min(into.length - done, 1 << 30);
    let n: number;
    try {
      n = fs.readSync(fd, into, done, len, position + done);
    } catch (e) {
      throw bad(file, name, `read failed at byte ${position + done}: ${(e as Error).message}`, e);
    }
    if (n === 0) {
      throw bad(file, name, `the file ended at byte ${position + done}, before byte ${position + into.length} (did it change while being read?)`);
    }
    done += n;
  }
}
