// Users' data files: token files (llm.c's format and nanoGPT's raw uint16 .bin) and UTF-8 text.
//
// llm.c token file (karpathy/llm.c dev/data/data_common.py, write_datafile): a header of 256
// int32 little-endian values, header[0] = 20240520 (magic), header[1] = version (1: uint16
// tokens, 2: uint32 tokens), header[2] = the token count, the rest zero (moontrain writes the
// tokenizer's vocabulary into header[3] when it knows it; llm.c ignores it); then the tokens, little
// endian. nanoGPT's train.bin / val.bin: the uint16 tokens and nothing else.
//
// Detection (detectDataFormat): a file of at least 4 bytes whose first int32 is the magic is an
// llm.c file (whatever its name); otherwise a `.bin` file is raw uint16 tokens; anything else is
// text. (A raw uint16 file starting with the tokens 54600, 308 reads as a bad llm.c file.)
//
// Every problem with a file is an Error with code 'ERR_MOONTRAIN_BAD_DATA_FILE' that names the
// function and the file. Token files are read in chunks straight into an Int32Array.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { writeFileAtomic } from '../io/atomic';
import { badFile, checkInt, checkPath, describe, invalid } from './errors';
import { readFileNamed } from './read-file';

export const LLMC_MAGIC = 20240520;
export const LLMC_HEADER_INTS = 256;
export const LLMC_HEADER_BYTES = LLMC_HEADER_INTS * 4;

export type TokenFileFormat = 'llmc-v1' | 'llmc-v2' | 'uint16';
export type DataFormat = 'llmc' | 'uint16' | 'text';

export interface TokenFile {
  tokens: Int32Array;
  format: TokenFileFormat;
}

export interface ReadTokenFileOptions {
  /** When given, every token id must be below it. */
  vocabSize?: number;
}

const CHUNK_BYTES = 1 << 24;

function openForRead(op: string, file: string): { fd: number; size: number } {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (e) {
    throw badFile(op, file, `cannot open: ${(e as Error).message}`, e);
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw badFile(op, file, 'not a regular file');
    return { fd, size: st.size };
  } catch (e) {
    fs.closeSync(fd);
    throw e;
  }
}

function readExact(op: string, fd: number, file: string, into: Uint8Array, position: number): void {
  let done = 0;
  while (done < into.length) {
    let n: number;
    try {
      n = fs.readSync(fd, into, done, into.length - done, position + done);
    } catch (e) {
      throw badFile(op, file, `read failed at byte ${position + done}: ${(e as Error).message}`, e);
    }
    if (n === 0) throw badFile(op, file, `the file ended at byte ${position + done} (did it change while being read?)`);
    done += n;
  }
}

function firstInt32(fd: number, size: number): number | undefined {
  if (size < 4) return undefined;
  const b = Buffer.alloc(4);
  fs.readSync(fd, b, 0, 4, 0);
  return b.readInt32LE(0);
}

/** What a data file holds, by the rules at the top of this file. */
export function detectDataFormat(file: string): DataFormat {
  const op = 'detectDataFormat';
  checkPath(op, 'file', file);
  const { fd, size } = openForRead(op, file);
  try {
    if (firstInt32(fd, size) === LLMC_MAGIC) return 'llmc';
  } finally {
    fs.closeSync(fd);
  }
  return path.extname(file).toLowerCase() === '.bin' ? 'uint16' : 'text';
}

/**
 * Reads tokens from `count` little-endian elements of `width` bytes at `position`, checking
 * each id against `limit` (exclusive).
 */
function readTokens(op: string, fd: number, file: string, position: number, count: number, width: 2 | 4, limit: number, what: string): Int32Array {
  const tokens = new Int32Array(count);
  const perChunk = Math.floor(CHUNK_BYTES / width);
  const buf = Buffer.alloc(Math.min(count, perChunk) * width);
  for (let t0 = 0; t0 < count; t0 += perChunk) {
    const m = Math.min(perChunk, count - t0);
    const view = buf.subarray(0, m * width);
    readExact(op, fd, file, view, position + t0 * width);
    for (let i = 0; i < m; i++) {
      const v = width === 2 ? view.readUInt16LE(2 * i) : view.readUInt32LE(4 * i);
      if (v >= limit) {
        throw badFile(op, file, `token ${t0 + i} is ${v}, expected ${what} below ${limit}`);
      }
      tokens[t0 + i] = v;
    }
  }
  return tokens;
}

/**
 * The tokens of an llm.c token file (v1 uint16 or v2 uint32) or of a raw uint16 `.bin` file,
 * detected as at the top of this file. With `vocabSize`, every id must be below it.
 */
export function readTokenFile(file: string, options: ReadTokenFileOptions = {}): TokenFile {
  const op = 'readTokenFile';
  checkPath(op, 'file', file);
  if (typeof options !== 'object' || options === null) throw invalid(op, 'options', 'an object { vocabSize? }', describe(options));
  const vocabSize = options.vocabSize === undefined ? undefined : checkInt(op, 'options.vocabSize', options.vocabSize, 1, 2 ** 31);
  const { fd, size } = openForRead(op, file);
  try {
    const magic = firstInt32(fd, size);
    const isBin = path.extname(file).toLowerCase() === '.bin';
    if (magic !== LLMC_MAGIC) {
      if (!isBin) {
        const got = magic === undefined ? `a file of ${size} bytes` : `first int32 ${magic}`;
        throw badFile(op, file, `not a token file: expected the llm.c magic ${LLMC_MAGIC} in the first int32 (or a .bin name for raw uint16 tokens), got ${got}`);
      }
      if (size % 2 !== 0) throw badFile(op, file, `a raw uint16 token file must have an even byte length, got ${size} bytes`);
      if (size === 0) throw badFile(op, file, 'holds no tokens (0 bytes)');
      const suffix = vocabSize === undefined ? '' : ` (vocabSize ${vocabSize})`;
      const tokens = readTokens(op, fd, file, 0, size / 2, 2, vocabSize ?? 65536, `a token id${suffix}`);
      return { tokens, format: 'uint16' };
    }
    if (size < LLMC_HEADER_BYTES) {
      throw badFile(op, file, `too short for the llm.c header: expected at least ${LLMC_HEADER_BYTES} bytes, got ${size}`);
    }
    const head = Buffer.alloc(LLMC_HEADER_BYTES);
    readExact(op, fd, file, head, 0);
    const version = head.readInt32LE(4);
    if (version !== 1 && version !== 2) {
      throw badFile(op, file, `unknown llm.c token file version ${version} (header[1]): expected 1 (uint16 tokens) or 2 (uint32 tokens)`);
    }
    const count = head.readInt32LE(8);
    const width = version === 1 ? 2 : 4;
    if (count < 0) throw badFile(op, file, `negative token count ${count} (header[2])`);
    const expected = LLMC_HEADER_BYTES + count * width;
    if (size !== expected) {
      throw badFile(op, file, `header[2] says ${count} tokens of ${width} bytes, so ${expected} bytes, but the file has ${size} bytes`);
    }
    if (count === 0) throw badFile(op, file, 'holds no tokens (header[2] = 0)');
    const limit = vocabSize ?? (version === 1 ? 65536 : 2 ** 31);
    const what = vocabSize !== undefined ? `a token id (vocabSize ${vocabSize})` : version === 1 ? 'a uint16' : 'a token id that fits an int32';
    const tokens = readTokens(op, fd, file, LLMC_HEADER_BYTES, count, width, limit, what);
    return { tokens, format: version === 1 ? 'llmc-v1' : 'llmc-v2' };
  } finally {
    fs.closeSync(fd);
  }
}

/** A UTF-8 text file as a string (a leading byte-order mark dropped); invalid UTF-8 is an Error. */
export function readTextFile(file: string): string {
  const op = 'readTextFile';
  checkPath(op, 'file', file);
  const bytes = readFileNamed(op, file);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (e) {
    throw badFile(op, file, 'not valid UTF-8 text', e);
  }
}

/**
 * Writes tokens as an llm.c token file, atomically (temp file + rename). version 1 stores uint16
 * tokens (each must be below 65536), version 2 uint32 (the default). vocabSize, when given, goes
 * into header[3] (0 otherwise).
 */
export function writeLlmcTokenFile(file: string, tokens: Int32Array | Uint32Array, version: 1 | 2 = 2, vocabSize = 0): void {
  const op = 'writeLlmcTokenFile';
  checkPath(op, 'file', file);
  if (!(tokens instanceof Int32Array) && !(tokens instanceof Uint32Array)) {
    throw invalid(op, 'tokens', 'an Int32Array or a Uint32Array', describe(tokens));
  }
  if (version !== 1 && version !== 2) throw invalid(op, 'version', '1 (uint16 tokens) or 2 (uint32 tokens)', describe(version));
  if (tokens.length > 0x7fffffff) throw invalid(op, 'tokens', 'at most 2^31 - 1 tokens', `${tokens.length}`);
  checkInt(op, 'vocabSize', vocabSize, 0, 0x7fffffff);
  if (os.endianness() !== 'LE') throw new Error(`${op}: token files are little-endian; this host is not`);
  const max = version === 1 ? 0xffff : 0xffffffff;
  for (let i = 0; i < tokens.length; i++) {
    const v = tokens[i]!;
    if (v < 0 || v > max) throw invalid(op, `tokens[${i}]`, `a token id in [0, ${max}] for version ${version}`, `${v}`);
  }
  const head = new Int32Array(LLMC_HEADER_INTS);
  head[0] = LLMC_MAGIC;
  head[1] = version;
  head[2] = tokens.length;
  head[3] = vocabSize;
  const body = version === 1 ? Uint16Array.from(tokens) : new Uint32Array(tokens.buffer, tokens.byteOffset, tokens.length);
  writeFileAtomic(file, [new Uint8Array(head.buffer), new Uint8Array(body.buffer, body.byteOffset, body.byteLength)]);
}
