// Batches of token windows for training (random, stateless) and evaluation (sequential).
//
// Training (TokenBatcher): the global batch of step s is batchSize rows; row i is the window of
// seqLen + 1 tokens starting at windowStart(s, i), a pure function of (seed, s, i) (no RNG state,
// so a resumed run, or a run on another number of ranks, sees the same data):
//
//   mix32(x)  = lowbias32 (x ^= x >>> 16; x *= 0x7feb352d; x ^= x >>> 15; x *= 0x846ca68b;
//               x ^= x >>> 16; all mod 2^32)
//   h         = mix32(seed ^ 0x9e3779b9)
//   h         = mix32(h ^ (s mod 2^32)); h = mix32(h ^ floor(s / 2^32) ^ 0x85ebca6b)
//   h         = mix32(h ^ i)
//   u         = (mix32(h ^ 0x68e31da4) * 2^21 + (mix32(h ^ 0xb5297a4d) >>> 11)) / 2^53   in [0, 1)
//   start     = floor(u * (N - seqLen))                               in [0, N - seqLen - 1]
//
// ids = tokens[start, start + seqLen), targets = tokens[start + 1, start + seqLen + 1), rows
// stored one after another ([rows, seqLen] row-major). With worldSize W (dividing batchSize),
// rank r gets the rows [r*B/W, (r+1)*B/W) of that same global batch.
//
// Evaluation (evalBatches): window w has ids tokens[w*seqLen, (w+1)*seqLen) and targets shifted
// by one, so the windows never overlap and every token but the first is predicted exactly once,
// except the last (N - 1) mod seqLen tokens (fewer than seqLen), which fill no whole window.
// Batches take batchSize windows in order; the last batch may have fewer rows.
// The tokens are an Int32Array or a TokenSource (token shards read lazily: shard-set.ts).
import { checkInt, describe, invalid } from './errors';
import { tokenSource, type Tokens, type TokenSource } from './token-source';

export interface Batch {
  /** [rows, seqLen] row-major. */
  ids: Int32Array;
  /** ids shifted by one token: targets[r, t] is the token after ids[r, t]. */
  targets: Int32Array;
  rows: number;
}

export interface TokenBatcherOptions {
  /** Rows of the global batch. */
  batchSize: number;
  /** Tokens per row (each row reads seqLen + 1 tokens). */
  seqLen: number;
  /** An integer in [0, 2^32 - 1]. */
  seed: number;
}

function mix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

/** A uniform number in [0, 1) with 53 random bits, from (seed, step, row). */
export function hashUnit(seed: number, step: number, row: number): number {
  let h = mix32(seed ^ 0x9e3779b9);
  h = mix32(h ^ (step % 0x100000000));
  h = mix32(h ^ Math.floor(step / 0x100000000) ^ 0x85ebca6b);
  h = mix32(h ^ row);
  const hi = mix32(h ^ 0x68e31da4);
  const lo = mix32(h ^ 0xb5297a4d) >>> 11;
  return (hi * 2 ** 21 + lo) / 2 ** 53;
}

function checkTokens(op: string, tokens: unknown, need: number, what: string): TokenSource {
  const source = tokenSource(op, tokens);
  if (source.length < need) throw invalid(op, 'tokens', `at least ${need} tokens (${what})`, `${source.length}`);
  return source;
}

/**
 * Rows of seqLen ids starting at `starts` and their targets (shifted by one); targets before
 * position firstScored[r] of row r are -1 (not scored).
 */
export function copyRows(tokens: TokenSource, starts: ArrayLike<number>, seqLen: number, firstScored?: ArrayLike<number>): Batch {
  const rows = starts.length;
  const ids = new Int32Array(rows * seqLen);
  const targets = new Int32Array(rows * seqLen);
  const window = new Int32Array(seqLen + 1);
  for (let r = 0; r < rows; r++) {
    tokens.read(starts[r]!, seqLen + 1, window, 0);
    ids.set(window.subarray(0, seqLen), r * seqLen);
    targets.set(window.subarray(1), r * seqLen);
    const f = firstScored?.[r] ?? 0;
    if (f > 0) targets.fill(-1, r * seqLen, r * seqLen + f);
  }
  return { ids, targets, rows };
}

export class TokenBatcher {
  readonly batchSize: number;
  readonly seqLen: number;
  readonly seed: number;
  private readonly tokens: TokenSource;

  constructor(tokens: Tokens, options: TokenBatcherOptions) {
    const op = 'TokenBatcher';
    if (typeof options !== 'object' || options === null) throw invalid(op, 'options', 'an object { batchSize, seqLen, seed }', describe(options));
    this.batchSize = checkInt(op, 'options.batchSize', options.batchSize, 1);
    this.seqLen = checkInt(op, 'options.seqLen', options.seqLen, 1);
    this.seed = checkInt(op, 'options.seed', options.seed, 0, 0xffffffff);
    this.tokens = checkTokens(op, tokens, this.seqLen + 1, `one window of seqLen + 1 = ${this.seqLen + 1}`);
  }

  /** The first token of row `row` of step `step`'s global batch. */
  windowStart(step: number, row: number): number {
    const op = 'TokenBatcher.windowStart';
    checkInt(op, 'step', step, 0);
    checkInt(op, 'row', row, 0, this.batchSize - 1);
    return Math.floor(hashUnit(this.seed, step, row) * (this.tokens.length - this.seqLen));
  }

  /** Rank `rank`'s rows of the global batch of `step` (all of it when worldSize is 1). */
  batch(step: number, rank = 0, worldSize = 1): Batch {
    const op = 'TokenBatcher.batch';
    checkInt(op, 'step', step, 0);
    checkInt(op, 'worldSize', worldSize, 1);
    if (this.batchSize % worldSize !== 0) {
      throw invalid(op, 'worldSize', `a divisor of batchSize ${this.batchSize}`, `${worldSize}`);
    }
    checkInt(op, 'rank', rank, 0, worldSize - 1);
    const per = this.batchSize / worldSize;
    const starts: number[] = [];
    const span = this.tokens.length - this.seqLen;
    for (let row = rank * per; row < (rank + 1) * per; row++) starts.push(Math.floor(hashUnit(this.seed, step, row) * span));
    return copyRows(this.tokens, starts, this.seqLen);
  }
}

export interface EvalBatches extends Iterable<Batch> {
  /** Number of batches. */
  count: number;
  /** Number of windows (rows over all batches). */
  windows: number;
  /** Tokens predicted over all batches: windows * seqLen. */
  predictedTokens: number;
  /** Tokens at the end that fill no whole window (and are not predicted): (N - 1) mod seqLen. */
  droppedTokens: number;
  /** Batch i (0 <= i < count). */
  batch(i: number): Batch;
  /** Batches [start, end) as an array, with Array.prototype.slice's index rules. */
  slice(start?: number, end?: number): Batch[];
}

/** Non-overlapping windows over a split, in order, for evaluation (see the top of this file). */
export function evalBatches(tokens: Tokens, options: { batchSize: number; seqLen: number }): EvalBatches {
  const op = 'evalBatches';
  if (typeof options !== 'object' || options === null) throw invalid(op, 'options', 'an object { batchSize, seqLen }', describe(options));
  const batchSize = checkInt(op, 'options.batchSize', options.batchSize, 1);
  const seqLen = checkInt(op, 'options.seqLen', options.seqLen, 1);
  const source = checkTokens(op, tokens, seqLen + 1, `one window of seqLen + 1 = ${seqLen + 1}`);
  const windows = Math.floor((tokens.length - 1) / seqLen);
  const count = Math.ceil(windows / batchSize);
  const batch = (i: number): Batch => {
    checkInt('evalBatches.batch', 'i', i, 0, count - 1);
    const starts: number[] = [];
    for (let w = i * batchSize; w < Math.min((i + 1) * batchSize, windows); w++) starts.push(w * seqLen);
    return copyRows(source, starts, seqLen);
  };
  return {
    count,
    windows,
    predictedTokens: windows * seqLen,
    droppedTokens: (tokens.length - 1) % seqLen,
    ...batchSequence(count, batch),
  };
}

/** batch(i), slice() and iteration over `count` batches: what every EvalBatches shares. */
export function batchSequence(count: number, batch: (i: number) => Batch): Pick<EvalBatches, 'batch' | 'slice' | typeof Symbol.iterator> {
  return {
    batch,
    slice(start = 0, end = count) {
      const at = (k: number): number => (k < 0 ? Math.max(0, count + k) : Math.min(k, count));
      const out: Batch[] = [];
      for (let i = at(Math.trunc(start)); i < at(Math.trunc(end)); i++) out.push(batch(i));
      return out;
    },
    *[Symbol.iterator]() {
      for (let i = 0; i < count; i++) yield batch(i);
    },
  };
}
