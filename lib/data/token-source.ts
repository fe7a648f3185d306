// Token sequences the batchers read windows from: an Int32Array in memory, a set of token shards
// read lazily from disk (shard-set.ts), or a contiguous range of either.
import { describe, invalid } from './errors';

export interface TokenSource {
  readonly length: number;
  /** Copies tokens [start, start + count) into `into` from index `at`. */
  read(start: number, count: number, into: Int32Array, at: number): void;
}

export type Tokens = Int32Array | TokenSource;

const inMemory = (tokens: Int32Array): TokenSource => ({
  length: tokens.length,
  read: (start, count, into, at) => into.set(tokens.subarray(start, start + count), at),
});

function isSource(v: unknown): v is TokenSource {
  return typeof v === 'object' && v !== null && typeof (v as TokenSource).length === 'number' && typeof (v as TokenSource).read === 'function';
}

/** The tokens as a TokenSource; anything else is an Error naming `op`. */
export function tokenSource(op: string, tokens: unknown): TokenSource {
  if (tokens instanceof Int32Array) return inMemory(tokens);
  if (isSource(tokens)) return tokens;
  throw invalid(op, 'tokens', 'an Int32Array or a TokenSource { length, read }', describe(tokens));
}

/** Tokens [start, end) of a source, read through it. */
export function tokenRange(source: TokenSource, start: number, end: number): TokenSource {
  return { length: end - start, read: (s, count, into, at) => source.read(start + s, count, into, at) };
}
