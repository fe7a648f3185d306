// A glob of llm.c token shards (as `moontrain tokenize` writes them) read as one token sequence,
// lazily: the files stay on disk and windows are read with positioned reads into a small cache of
// blocks that keep the file's own width (uint16 shards stay uint16 in memory).
//
// The pattern's `*`, `?` and `[...]` match within one path component (no `**`; a leading dot is
// matched only by a dot, as in the shell); the matches are taken in sorted (byte) order and
// concatenated: a window may span the end of one shard and the start of the next.
// Every shard must be an llm.c file of the same version (token width); header[3], where
// moontrain writes the tokenizer's vocabulary (0 in llm.c's own files), must agree where set.
// Token ids are checked as blocks are read: one at or above the vocabulary is an Error naming the
// file and the token's index in it.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { badFile, checkInt } from './errors';
import { LLMC_HEADER_BYTES, LLMC_MAGIC } from './token-files';
import type { TokenSource } from './token-source';

/** Does the data argument name a pattern rather than one file? */
export const isGlob = (s: string): boolean => /[*?[]/.test(s);

function componentRegex(part: string): RegExp {
  let re = '';
  for (let i = 0; i < part.length; i++) {
    const c = part[i]!;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = part.indexOf(']', i + 2);
      if (end < 0) re += '\\[';
      else {
        const body = part.slice(i + 1, end).replace(/^!/, '^').replace(/\\/g, '\\\\');
        re += `[${body}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** The files a pattern matches, sorted; [] when none. */
export function expandGlob(pattern: string): string[] {
  const parts = pattern.split('/');
  let dirs = [parts[0] === '' ? '/' : '.'];
  const prefixed = (dir: string, name: string) => (dir === '.' && !pattern.startsWith('./') ? name : path.join(dir, name));
  for (let k = parts[0] === '' ? 1 : 0; k < parts.length; k++) {
    const part = parts[k]!;
    if (part === '') continue;
    const last = k === parts.length - 1;
    const next: string[] = [];
    for (const dir of dirs) {
      if (!isGlob(part)) {
        next.push(prefixed(dir, part));
        continue;
      }
      let names: string[];
      try {
        names = fs.readdirSync(dir);
      } catch {
        continue;
      }
      const re = componentRegex(part);
      for (const n of names) if (re.test(n) && (part.startsWith('.') || !n.startsWith('.'))) next.push(prefixed(dir, n));
    }
    dirs = last ? next : next.filter((d) => fs.statSync(d, { throwIfNoEntry: false })?.isDirectory());
  }
  return dirs.filter((f) => fs.statSync(f, { throwIfNoEntry: false })?.isFile()).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

interface Shard {
  file: string;
  fd: number;
  tokens: number;
  /** header[1]: 1 uint16, 2 uint32. */
  version: 1 | 2;
  /** header[3]: the tokenizer's vocabulary, 0 when not recorded. */
  vocab: number;
}

/** The header of one llm.c shard; anything else is an Error naming the file. */
function openShard(op: string, file: string): Shard {
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    const head = Buffer.alloc(LLMC_HEADER_BYTES);
    const n = fs.readSync(fd, head, 0, LLMC_HEADER_BYTES, 0);
    if (n < 4 || head.readInt32LE(0) !== LLMC_MAGIC) throw badFile(op, file, `not an llm.c token shard: expected the magic ${LLMC_MAGIC} in the first int32`);
    if (n < LLMC_HEADER_BYTES) throw badFile(op, file, `too short for the llm.c header: expected at least ${LLMC_HEADER_BYTES} bytes, got ${size}`);
    const version = head.readInt32LE(4), tokens = head.readInt32LE(8), vocab = head.readInt32LE(12);
    if (version !== 1 && version !== 2) throw badFile(op, file, `unknown llm.c token file version ${version} (header[1]): expected 1 (uint16 tokens) or 2 (uint32 tokens)`);
    const expected = LLMC_HEADER_BYTES + tokens * (version === 1 ? 2 : 4);
    if (tokens <= 0 || size !== expected) throw badFile(op, file, `header[2] says ${tokens} tokens, so ${expected} bytes, but the file has ${size} bytes`);
    if (vocab < 0) throw badFile(op, file, `negative vocabulary ${vocab} (header[3])`);
    return { file, fd, tokens, version, vocab };
  } catch (e) {
    fs.closeSync(fd);
    throw e;
  }
}

/** Tokens per cached block, and blocks kept (4 MiB of uint16 tokens). */
const BLOCK = 1 << 12;
const CACHED_BLOCKS = 512;

export interface ShardSetOptions {
  /** Token ids must be below the shards' header[3]; where they record none, below this (default: the width's range). */
  vocabSize?: number;
  /** Names the command in errors (default 'ShardSet'). */
  op?: string;
}

// A ShardSet dropped without close() closes its files when collected (close() unregisters it, so a
// descriptor number reused since is never closed by mistake).
const closeFiles = new FinalizationRegistry<number[]>((fds) => {
  for (const fd of fds) fs.closeSync(fd);
});

export class ShardSet implements TokenSource {
  readonly files: string[];
  readonly length: number;
  /** Bytes per token: 2 (uint16 shards) or 4. */
  readonly width: 2 | 4;
  /** The vocabulary the shards record (header[3]), or undefined when they record none. */
  readonly vocabSize: number | undefined;
  private readonly shards: Shard[];
  /** ends[k]: tokens in shards 0..k. */
  private readonly ends: number[];
  private readonly limit: number;
  private readonly cache = new Map<number, Uint16Array | Uint32Array>();

  private constructor(shards: Shard[], limit: number, vocabSize: number | undefined) {
    this.shards = shards;
    this.files = shards.map((s) => s.file);
    this.width = shards[0]!.version === 1 ? 2 : 4;
    this.vocabSize = vocabSize;
    let total = 0;
    this.ends = shards.map((s) => (total += s.tokens));
    this.length = total;
    this.limit = limit;
    closeFiles.register(this, shards.map((x) => x.fd), this);
  }

  /** The shards a pattern matches (see the top of this file). */
  static open(pattern: string, options: ShardSetOptions = {}): ShardSet {
    const op = options.op ?? 'ShardSet';
    if (os.endianness() !== 'LE') throw new Error(`${op}: token shards are little-endian; this host is not`);
    const files = expandGlob(pattern);
    if (files.length === 0) throw badFile(op, pattern, 'no file matches this pattern');
    const shards: Shard[] = [];
    try {
      for (const f of files) {
        const s = openShard(op, f);
        shards.push(s);
        const first = shards[0]!;
        if (s.version !== first.version)
          throw badFile(op, pattern, `mixed token widths: ${first.file} holds ${first.version === 1 ? 'uint16' : 'uint32'} tokens, ${f} ${s.version === 1 ? 'uint16' : 'uint32'}`);
        const known = shards.find((x) => x.vocab > 0);
        if (s.vocab > 0 && known && known.vocab !== s.vocab)
          throw badFile(op, pattern, `mixed vocabularies: ${known.file} records ${known.vocab} tokens, ${f} ${s.vocab}`);
      }
    } catch (e) {
      for (const s of shards) fs.closeSync(s.fd);
      throw e;
    }
    const recorded = shards.find((x) => x.vocab > 0)?.vocab;
    const given = options.vocabSize === undefined ? undefined : checkInt(op, 'options.vocabSize', options.vocabSize, 1, 2 ** 31);
    const limit = recorded ?? given ?? (shards[0]!.version === 1 ? 0x10000 : 2 ** 31);
    return new ShardSet(shards, limit, recorded);
  }

  read(start: number, count: number, into: Int32Array, at: number): void {
    if (!(start >= 0 && count >= 0 && start + count <= this.length)) throw new RangeError(`ShardSet.read: tokens [${start}, ${start + count}) outside [0, ${this.length})`);
    let k = this.shardOf(start);
    let pos = start - (k === 0 ? 0 : this.ends[k - 1]!);
    for (let done = 0; done < count; ) {
      if (pos >= this.shards[k]!.tokens) {
        k++;
        pos = 0;
        continue;
      }
      const b = Math.floor(pos / BLOCK), off = pos - b * BLOCK;
      const block = this.block(k, b);
      const n = Math.min(count - done, block.length - off);
      into.set(block.subarray(off, off + n), at + done);
      done += n;
      pos += n;
    }
  }

  /** Closes the shards' files (reads after this fail). */
  close(): void {
    closeFiles.unregister(this);
    for (const s of this.shards) if (s.fd >= 0) fs.closeSync(s.fd), (s.fd = -1);
    this.cache.clear();
  }

  private shardOf(token: number): number {
    let lo = 0, hi = this.ends.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.ends[mid]! > token) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  private block(k: number, b: number): Uint16Array | Uint32Array {
    const key = k * 2 ** 17 + b;
    const hit = this.cache.get(key);
    if (hit) {
      this.cache.delete(key);
      this.cache.set(key, hit);
      return hit;
    }
    const s = this.shards[k]!;
    const n = Math.min(BLOCK, s.tokens - b * BLOCK);
    const block = this.width === 2 ? new Uint16Array(n) : new Uint32Array(n);
    const bytes = new Uint8Array(block.buffer);
    const position = LLMC_HEADER_BYTES + b * BLOCK * this.width;
    for (let got = 0; got < bytes.length; ) {
      const r = fs.readSync(s.fd, bytes, got, bytes.length - got, position + got);
      if (r === 0) throw badFile('ShardSet', s.file, `the file ended at byte ${position + got} (did it change while being read?)`);
      got += r;
    }
    for (let i = 0; i < n; i++) {
      if (block[i]! >= this.limit) throw badFile('ShardSet', s.file, `token ${b * BLOCK + i} is ${block[i]}, expected a token id below ${this.limit}`);
    }
    if (this.cache.size >= CACHED_BLOCKS) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(key, block);
    return block;
  }
}
