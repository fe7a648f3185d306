// Evaluation over a whole split in overlapping windows, so that every scored token is predicted
// with at least `minContext` tokens before it (the protocol's full-validation loss).
//
// With tokens x[0..N), window k starts at s_k = k * stride, stride = seqLen - first, first =
// max(0, minContext - 1): its ids are x[s_k, s_k + seqLen), its targets x[s_k + 1, s_k + seqLen]
// and only positions p >= first are scored (target x[s_k + p + 1], context p + 1 >= minContext
// tokens); the others get target -1 (ignored by the loss). The scored ranges of consecutive windows
// meet exactly. If targets remain after the last whole window, one more window ends at x[N - 1]
// and scores only those. So every target x[j], first + 1 <= j <= N - 1, is scored exactly once;
// x[1..first] (fewer than minContext tokens of context) are not.
import { batchSequence, copyRows, type Batch, type EvalBatches } from './batcher';
import { checkInt, describe, invalid } from './errors';
import { tokenSource, type Tokens } from './token-source';

export interface StridedEvalOptions {
  batchSize: number;
  seqLen: number;
  /** Context every scored token has, at least (0 or 1: every window position is scored). */
  minContext: number;
}

/** Window starts and, per window, the first scored position. */
function windowPlan(n: number, seqLen: number, first: number): { starts: number[]; firstScored: number[] } {
  const stride = seqLen - first;
  const starts: number[] = [], firstScored: number[] = [];
  let lastTarget = first;  // targets x[1..first] are never scored
  for (let s = 0; s + seqLen <= n - 1; s += stride) {
    starts.push(s);
    firstScored.push(first);
    lastTarget = s + seqLen;
  }
  if (lastTarget < n - 1) {
    const s = n - 1 - seqLen;
    starts.push(s);
    firstScored.push(lastTarget - s);  // position p scores x[s + p + 1]: the first one after lastTarget
  }
  return { starts, firstScored };
}

export function stridedEvalBatches(tokens: Tokens, options: StridedEvalOptions): EvalBatches {
  const op = 'stridedEvalBatches';
  if (typeof options !== 'object' || options === null) throw invalid(op, 'options', 'an object { batchSize, seqLen, minContext }', describe(options));
  const batchSize = checkInt(op, 'options.batchSize', options.batchSize, 1);
  const seqLen = checkInt(op, 'options.seqLen', options.seqLen, 1);
  const minContext = checkInt(op, 'options.minContext', options.minContext, 0, seqLen);
  const source = tokenSource(op, tokens);
  if (source.length < seqLen + 1) throw invalid(op, 'tokens', `at least seqLen + 1 = ${seqLen + 1} tokens`, `${source.length}`);
  const first = Math.max(0, minContext - 1);
  const { starts, firstScored } = windowPlan(tokens.length, seqLen, first);
  const windows = starts.length;
  const count = Math.ceil(windows / batchSize);
  const batch = (i: number): Batch => {
    checkInt(`${op}.batch`, 'i', i, 0, count - 1);
    const lo = i * batchSize, hi = Math.min(lo + batchSize, windows);
    return copyRows(source, starts.slice(lo, hi), seqLen, firstScored.slice(lo, hi));
  };
  return {
    count,
    windows,
    predictedTokens: Math.max(0, tokens.length - 1 - first),
    droppedTokens: Math.min(first, tokens.length - 1),
    ...batchSequence(count, batch),
  };
}
