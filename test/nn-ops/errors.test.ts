// Bad calls to the neural-network ops: each throws `<op>: argument '<name>': expected <what>, got
// <what came>` with err.op, err.argument and err.code === 'ERR_MOONTRAIN_INVALID_ARGUMENT'.
import test from 'ava';
import { tensor, ops, debug, Tensor } from '../../lib';
import { assertInvalidArg } from '../helpers/util';
import { numel } from '../../lib/shape';

debug.poisonAllocations(true);

const any = (v: unknown): any => v;

function mk(shape: number[], dtype: 'f32' | 'bf16' = 'f32'): Tensor {
  const n = numel(shape);
  return tensor(Float32Array.from({ length: n }, (_, i) => (((i * 7) % 11) - 5) / 4), shape, { dtype });
}
function disposed(shape: number[]): Tensor {
  const x = mk(shape);
  x.dispose();
  return x;
}
const i32 = (...v: number[]) => Int32Array.from(v);

type Row = [description: string, thunk: () => unknown, op: string, argument: string, message?: RegExp];
const rows: Row[] = [];
const add = (op: string, list: [string, () => unknown, string, RegExp?][]) => {
  for (const [d, f, arg, re] of list) rows.push([`${op}: ${d}`, f, op, arg, re]);
};

// ---------------------------------------------------------------------------------------------
const w54 = mk([5, 4]);
const dy34 = mk([3, 4]);
add('embedding', [
  ['weight not a tensor', () => ops.embedding(any(null), i32(0)), 'weight', /null/],
  ['weight disposed', () => ops.embedding(disposed([5, 4]), i32(0)), 'weight', /dispos/],
  ['weight rank 1', () => ops.embedding(mk([5]), i32(0)), 'weight', /rank 2/],
  ['ids a number[]', () => ops.embedding(w54, any([0, 1])), 'ids', /Int32Array/],
  ['ids a Float32Array', () => ops.embedding(w54, any(new Float32Array(2))), 'ids', /Int32Array/],
  ['id out of range', () => ops.embedding(w54, i32(0, 5, 1)), 'ids', /entry 1 = 5/],
  ['negative id', () => ops.embedding(w54, i32(-1)), 'ids', /entry 0 = -1/],
]);
add('embeddingBackward', [
  ['dy rank 3', () => ops.embeddingBackward(mk([3, 4, 1]), i32(0, 0, 0), 5), 'dy', /rank 2/],
  ['ids length != rows of dy', () => ops.embeddingBackward(dy34, i32(0, 1), 5), 'ids', /length 2/],
  ['id >= vocabSize', () => ops.embeddingBackward(dy34, i32(0, 1, 5), 5), 'ids', /entry 2 = 5/],
  ['vocabSize 0', () => ops.embeddingBackward(dy34, i32(0, 1, 2), 0), 'vocabSize'],
  ['vocabSize 2.5', () => ops.embeddingBackward(dy34, i32(0, 1, 2), 2.5), 'vocabSize'],
  ['vocabSize NaN', () => ops.embeddingBackward(dy34, i32(0, 1, 2), NaN), 'vocabSize'],
  ['vocabSize a string', () => ops.embeddingBackward(dy34, i32(0, 1, 2), any('5')), 'vocabSize'],
]);

// ---------------------------------------------------------------------------------------------
const x34 = mk([3, 4]);
const x34h = mk([3, 4], 'bf16');
const w4 = mk([4]);
const w4h = mk([4], 'bf16');
const r3 = mk([3]);
add('rmsNorm', [
  ['x rank 1', () => ops.rmsNorm(mk([4]), w4), 'x', /rank 2/],
  ['x rank 3', () => ops.rmsNorm(mk([2, 3, 4]), w4), 'x', /rank 2/],
  ['x with no columns', () => ops.rmsNorm(mk([3, 0]), mk([0])), 'x'],
  ['weight of the wrong length', () => ops.rmsNorm(x34, mk([5])), 'weight', /\[4\]/],
  ['weight rank 2', () => ops.rmsNorm(x34, mk([1, 4])), 'weight'],
  ['weight dtype differs', () => ops.rmsNorm(x34, w4h), 'weight', /bf16/],
  ['eps NaN', () => ops.rmsNorm(x34, w4, { eps: NaN }), 'options', /eps/],
  ['eps Infinity', () => ops.rmsNorm(x34, w4, { eps: Infinity }), 'options', /eps/],
  ['eps negative', () => ops.rmsNorm(x34, w4, { eps: -1 }), 'options', /eps/],
  ['eps a string', () => ops.rmsNorm(x34, w4, any({ eps: '1e-6' })), 'options', /eps/],
  ['options a number', () => ops.rmsNorm(x34, w4, any(3)), 'options'],
]);
add('rmsNormBackward', [
  ['dy shape differs', () => ops.rmsNormBackward(mk([3, 5]), x34, w4, r3), 'dy', /\[3, 4\]/],
  ['dy dtype differs', () => ops.rmsNormBackward(dy34, x34h, w4h, r3), 'dy'],
  ['weight length', () => ops.rmsNormBackward(dy34, x34, mk([3]), r3), 'weight'],
  ['rstd length', () => ops.rmsNormBackward(dy34, x34, w4, mk([4])), 'rstd', /\[3\]/],
  ['rstd bf16', () => ops.rmsNormBackward(dy34, x34, w4, mk([3], 'bf16')), 'rstd', /f32/],
  ['rstd not a tensor', () => ops.rmsNormBackward(dy34, x34, w4, any({})), 'rstd'],
]);

// ---------------------------------------------------------------------------------------------
const xr = mk([3, 2, 4]);
const pos3 = i32(0, 1, 2);
add('rope', [
  ['x rank 2', () => ops.rope(mk([3, 4]), pos3), 'x', /rank 3/],
  ['x rank 4', () => ops.rope(mk([1, 3, 2, 4]), pos3), 'x', /rank 3/],
  ['odd last dimension', () => ops.rope(mk([3, 2, 5]), pos3), 'x', /even/],
  ['positions too short', () => ops.rope(xr, i32(0, 1)), 'positions', /length 2/],
  ['positions too long', () => ops.rope(xr, i32(0, 1, 2, 3)), 'positions', /length 4/],
  ['negative position', () => ops.rope(xr, i32(0, -3, 2)), 'positions', /entry 1 = -3/],
  ['positions a number[]', () => ops.rope(xr, any([0, 1, 2])), 'positions', /Int32Array/],
  ['theta 0', () => ops.rope(xr, pos3, { theta: 0 }), 'options', /theta/],
  ['theta NaN', () => ops.rope(xr, pos3, { theta: NaN }), 'options', /theta/],
  ['theta -Infinity', () => ops.rope(xr, pos3, { theta: -Infinity }), 'options', /theta/],
  ['interleave a number', () => ops.rope(xr, pos3, any({ interleave: 1 })), 'options', /interleave/],
  ['inverse a string', () => ops.rope(xr, pos3, any({ inverse: 'yes' })), 'options', /inverse/],
  ['ropeDim above d', () => ops.rope(xr, pos3, { ropeDim: 6 }), 'options', /ropeDim an even number in \[2, 4\]/],
  ['ropeDim odd', () => ops.rope(xr, pos3, { ropeDim: 3 }), 'options', /ropeDim/],
  ['ropeDim 0', () => ops.rope(xr, pos3, { ropeDim: 0 }), 'options', /ropeDim/],
  ['ropeDim not an integer', () => ops.rope(xr, pos3, { ropeDim: 3.5 }), 'options', /ropeDim/],
]);

// ---------------------------------------------------------------------------------------------
const q = mk([2, 3, 2, 4]);
const kk = mk([2, 3, 2, 4]);
const v = mk([2, 3, 2, 5]);
const out = mk([2, 3, 2, 5]);
const lse = mk([2, 2, 3]);
add('attention', [
  ['q rank 3', () => ops.attention(mk([3, 2, 4]), kk, v), 'q', /rank 4/],
  ['k rank 3', () => ops.attention(q, mk([3, 2, 4]), v), 'k', /rank 4/],
  ['k head dim differs', () => ops.attention(q, mk([2, 3, 2, 5]), v), 'k', /\[2, 3, 2, 4\]/],
  ['k sequence length differs', () => ops.attention(q, mk([2, 4, 2, 4]), v), 'k'],
  ['v heads differ', () => ops.attention(q, kk, mk([2, 3, 1, 5])), 'v', /B, S, H/],
  ['v batch differs', () => ops.attention(q, kk, mk([1, 3, 2, 5])), 'v'],
  ['k dtype differs', () => ops.attention(q, mk([2, 3, 2, 4], 'bf16'), v), 'k', /bf16/],
  ['v dtype differs', () => ops.attention(q, kk, mk([2, 3, 2, 5], 'bf16')), 'v', /bf16/],
  ['scale NaN', () => ops.attention(q, kk, v, { scale: NaN }), 'options', /scale/],
  ['scale Infinity', () => ops.attention(q, kk, v, { scale: Infinity }), 'options', /scale/],
  ['causal a number', () => ops.attention(q, kk, v, any({ causal: 0 })), 'options', /causal/],
]);
add('attentionBackward', [
  ['dout shape differs', () => ops.attentionBackward(mk([2, 3, 2, 4]), q, kk, v, out, lse), 'dout', /\[2, 3, 2, 5\]/],
  ['out shape differs', () => ops.attentionBackward(out, q, kk, v, mk([2, 3, 2, 4]), lse), 'out'],
  ['out dtype differs', () => ops.attentionBackward(out, q, kk, v, mk([2, 3, 2, 5], 'bf16'), lse), 'out', /bf16/],
  ['lse [B,S,H] instead of [B,H,S]', () => ops.attentionBackward(out, q, kk, v, out, mk([2, 3, 2])), 'lse', /\[2, 2, 3\]/],
  ['lse bf16', () => ops.attentionBackward(out, q, kk, v, out, mk([2, 2, 3], 'bf16')), 'lse', /f32/],
  ['k rank 2', () => ops.attentionBackward(out, q, mk([3, 4]), v, out, lse), 'k'],
  ['scale a string', () => ops.attentionBackward(out, q, kk, v, out, lse, any({ scale: 'x' })), 'options', /scale/],
]);

// ---------------------------------------------------------------------------------------------
add('swiglu', [
  ['shapes differ', () => ops.swiglu(mk([3, 4]), mk([4, 3])), 'up', /\[3, 4\]/],
  ['dtypes differ', () => ops.swiglu(x34, x34h), 'up', /bf16/],
  ['gate not a tensor', () => ops.swiglu(any(undefined), x34), 'gate', /undefined/],
]);
add('swigluBackward', [
  ['dy shape differs', () => ops.swigluBackward(mk([3, 5]), x34, x34), 'dy'],
  ['dy dtype differs', () => ops.swigluBackward(x34h, x34, x34), 'dy', /bf16/],
  ['up shape differs', () => ops.swigluBackward(x34, x34, mk([12])), 'up'],
]);

// ---------------------------------------------------------------------------------------------
const logits = mk([3, 5]);
const lse3 = mk([3]);
add('crossEntropy', [
  ['logits rank 1', () => ops.crossEntropy(mk([5]), i32(0)), 'logits', /rank 2/],
  ['logits with no classes', () => ops.crossEntropy(mk([3, 0]), i32(-1, -1, -1)), 'logits'],
  ['targets too short', () => ops.crossEntropy(logits, i32(0, 1)), 'targets', /length 2/],
  ['target = V', () => ops.crossEntropy(logits, i32(0, 5, 1)), 'targets', /entry 1 = 5/],
  ['targets a number[]', () => ops.crossEntropy(logits, any([0, 1, 2])), 'targets', /Int32Array/],
  ['targets an Uint32Array', () => ops.crossEntropy(logits, any(new Uint32Array(3))), 'targets', /Int32Array/],
]);
add('crossEntropyBackward', [
  ['target out of range', () => ops.crossEntropyBackward(logits, i32(0, 1, 9), lse3), 'targets', /entry 2 = 9/],
  ['targets too long', () => ops.crossEntropyBackward(logits, i32(0, 1, 2, 3), lse3), 'targets', /length 4/],
  ['lse length', () => ops.crossEntropyBackward(logits, i32(0, 1, 2), mk([5])), 'lse', /\[3\]/],
  ['lse bf16', () => ops.crossEntropyBackward(logits, i32(0, 1, 2), mk([3], 'bf16')), 'lse', /f32/],
  ['scale NaN', () => ops.crossEntropyBackward(logits, i32(0, 1, 2), lse3, { scale: NaN }), 'options', /scale/],
  ['scale a string', () => ops.crossEntropyBackward(logits, i32(0, 1, 2), lse3, any({ scale: '1' })), 'options', /scale/],
]);

// ---------------------------------------------------------------------------------------------
const rl = mk([3, 8]);
const rb = mk([8]);
const scores = mk([3, 8]);
const dw32 = mk([3, 2]);
add('moeRoute', [
  ['logits bf16', () => ops.moeRoute(mk([3, 8], 'bf16'), rb, { topK: 2 }), 'logits', /f32/],
  ['logits rank 3', () => ops.moeRoute(mk([1, 3, 8]), rb, { topK: 2 }), 'logits', /rank 2/],
  ['logits with no experts', () => ops.moeRoute(mk([3, 0]), mk([0]), { topK: 1 }), 'logits'],
  ['bias of the wrong length', () => ops.moeRoute(rl, mk([7]), { topK: 2 }), 'bias', /\[8\]/],
  ['bias bf16', () => ops.moeRoute(rl, mk([8], 'bf16'), { topK: 2 }), 'bias', /f32/],
  ['topK missing', () => ops.moeRoute(rl, rb, any({})), 'options', /topK/],
  ['options missing', () => ops.moeRoute(rl, rb, any(undefined)), 'options', /topK/],
  ['topK 0', () => ops.moeRoute(rl, rb, { topK: 0 }), 'options', /topK/],
  ['topK > E', () => ops.moeRoute(rl, rb, { topK: 9 }), 'options', /topK/],
  ['topK 1.5', () => ops.moeRoute(rl, rb, { topK: 1.5 }), 'options', /topK/],
  ['topK above the kept groups', () => ops.moeRoute(rl, rb, { topK: 5, nGroup: 2, topkGroup: 1 }), 'options', /topK/],
  ['nGroup not dividing E', () => ops.moeRoute(rl, rb, { topK: 2, nGroup: 3 }), 'options', /nGroup/],
  ['nGroup 0', () => ops.moeRoute(rl, rb, { topK: 2, nGroup: 0 }), 'options', /nGroup/],
  ['topkGroup > nGroup', () => ops.moeRoute(rl, rb, { topK: 2, nGroup: 2, topkGroup: 3 }), 'options', /topkGroup/],
  ['scalingFactor NaN', () => ops.moeRoute(rl, rb, { topK: 2, scalingFactor: NaN }), 'options', /scalingFactor/],
  ['normTopk a number', () => ops.moeRoute(rl, rb, any({ topK: 2, normTopk: 1 })), 'options', /normTopk/],
]);
add('moeRouteBackward', [
  ['dweights bf16', () => ops.moeRouteBackward(mk([3, 2], 'bf16'), scores, i32(0, 1, 2, 3, 4, 5)), 'dweights', /f32/],
  ['scores rows differ', () => ops.moeRouteBackward(dw32, mk([4, 8]), i32(0, 1, 2, 3, 4, 5)), 'scores', /\[3, E\]/],
  ['scores bf16', () => ops.moeRouteBackward(dw32, mk([3, 8], 'bf16'), i32(0, 1, 2, 3, 4, 5)), 'scores', /f32/],
  ['experts length', () => ops.moeRouteBackward(dw32, scores, i32(0, 1, 2)), 'experts', /length 3/],
  ['expert out of range', () => ops.moeRouteBackward(dw32, scores, i32(0, 1, 2, 8, 4, 5)), 'experts', /entry 3 = 8/],
  ['scalingFactor Infinity', () => ops.moeRouteBackward(dw32, scores, i32(0, 1, 2, 3, 4, 5), { scalingFactor: Infinity }), 'options', /scalingFactor/],
  ['dscores shape', () => ops.moeRouteBackward(dw32, scores, i32(0, 1, 2, 3, 4, 5), { dscores: mk([3, 4]) }), 'options.dscores', /\[3, 8\]/],
  ['dscores bf16', () => ops.moeRouteBackward(dw32, scores, i32(0, 1, 2, 3, 4, 5), { dscores: mk([3, 8], 'bf16') }), 'options.dscores', /f32/],
]);
const px = mk([3, 4]);
const xs = mk([6, 4]);
const order6 = i32(5, 4, 3, 2, 1, 0);
const pw = mk([3, 2]);
add('moePermute', [
  ['x rank 1', () => ops.moePermute(mk([4]), i32(0), 2), 'x', /rank 2/],
  ['experts not a multiple of T', () => ops.moePermute(px, i32(0, 1, 0, 1), 2), 'experts', /multiple/],
  ['experts empty', () => ops.moePermute(px, i32(), 2), 'experts', /multiple/],
  ['expert = numExperts', () => ops.moePermute(px, i32(0, 1, 2), 2), 'experts', /entry 2 = 2/],
  ['negative expert', () => ops.moePermute(px, i32(0, -1, 1), 2), 'experts', /entry 1 = -1/],
  ['experts a number[]', () => ops.moePermute(px, any([0, 1, 1]), 2), 'experts', /Int32Array/],
  ['numExperts 0', () => ops.moePermute(px, i32(0, 0, 0), 0), 'numExperts'],
  ['numExperts NaN', () => ops.moePermute(px, i32(0, 0, 0), NaN), 'numExperts'],
]);
add('moeUnpermute', [
  ['ys rank 3', () => ops.moeUnpermute(mk([6, 4, 1]), order6, pw), 'ys', /rank 2/],
  ['weights not [T, topK] for the rows of ys', () => ops.moeUnpermute(xs, order6, mk([2, 2])), 'weights', /6/],
  ['weights bf16', () => ops.moeUnpermute(xs, order6, mk([3, 2], 'bf16')), 'weights', /f32/],
  ['order too short', () => ops.moeUnpermute(xs, i32(0, 1, 2, 3, 4), pw), 'order', /length 5/],
  ['order entry out of range', () => ops.moeUnpermute(xs, i32(0, 1, 2, 3, 4, 6), pw), 'order', /entry 5 = 6/],
  ['order not a permutation', () => ops.moeUnpermute(xs, i32(0, 1, 2, 3, 4, 4), pw), 'order', /entry 5 = 4 repeated/],
]);
add('moeUnpermuteBackward', [
  ['dy rows differ', () => ops.moeUnpermuteBackward(mk([2, 4]), xs, order6, pw), 'dy', /\[3, 4\]/],
  ['dy dtype differs', () => ops.moeUnpermuteBackward(mk([3, 4], 'bf16'), xs, order6, pw), 'dy', /bf16/],
  ['order repeated entry', () => ops.moeUnpermuteBackward(px, xs, i32(1, 1, 2, 3, 4, 5), pw), 'order', /repeated/],
  ['weights rank 1', () => ops.moeUnpermuteBackward(px, xs, order6, mk([6])), 'weights', /rank 2/],
]);
add('moePermuteBackward', [
  ['topK not dividing the rows', () => ops.moePermuteBackward(xs, order6, 4), 'topK', /divisor/],
  ['topK 0', () => ops.moePermuteBackward(xs, order6, 0), 'topK'],
  ['topK a string', () => ops.moePermuteBackward(xs, order6, any('2')), 'topK'],
  ['order length', () => ops.moePermuteBackward(xs, i32(0, 1, 2), 2), 'order', /length 3/],
  ['order repeated', () => ops.moePermuteBackward(xs, i32(0, 0, 2, 3, 4, 5), 2), 'order', /repeated/],
  ['dxs not a tensor', () => ops.moePermuteBackward(any(order6), order6, 2), 'dxs'],
]);
const sc = mk([6, 4]);
const aux = { batch: 2, seqLen: 3, topK: 2, alpha: 0.01 };
const ex12 = i32(0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3);
add('moeSeqAuxLoss', [
  ['scores bf16', () => ops.moeSeqAuxLoss(mk([6, 4], 'bf16'), ex12, aux), 'scores', /f32/],
  ['scores rows != batch*seqLen', () => ops.moeSeqAuxLoss(mk([5, 4]), ex12, aux), 'scores', /\[6, E\]/],
  ['experts length', () => ops.moeSeqAuxLoss(sc, i32(0, 1, 2), aux), 'experts', /length 3/],
  ['expert out of range', () => ops.moeSeqAuxLoss(sc, i32(0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 4), aux), 'experts', /entry 11 = 4/],
  ['batch missing', () => ops.moeSeqAuxLoss(sc, ex12, any({ seqLen: 3, topK: 2, alpha: 0.01 })), 'options', /batch/],
  ['alpha missing', () => ops.moeSeqAuxLoss(sc, ex12, any({ batch: 2, seqLen: 3, topK: 2 })), 'options', /alpha/],
  ['alpha NaN', () => ops.moeSeqAuxLoss(sc, ex12, { ...aux, alpha: NaN }), 'options', /alpha/],
  ['topK > E', () => ops.moeSeqAuxLoss(sc, ex12, { ...aux, topK: 5 }), 'options', /topK/],
  ['seqLen 0', () => ops.moeSeqAuxLoss(sc, ex12, { ...aux, seqLen: 0 }), 'options', /seqLen/],
]);

// ---------------------------------------------------------------------------------------------
add('add', [
  ['shapes differ', () => ops.add(x34, mk([4, 3])), 'b', /\[3, 4\]/],
  ['dtypes differ', () => ops.add(x34, x34h), 'b', /bf16/],
  ['alpha NaN', () => ops.add(x34, x34, { alpha: NaN }), 'options', /alpha/],
  ['b disposed', () => ops.add(x34, disposed([3, 4])), 'b', /dispos/],
]);
add('scale', [
  ['s NaN', () => ops.scale(x34, NaN), 's', /NaN/],
  ['s Infinity', () => ops.scale(x34, Infinity), 's'],
  ['s a string', () => ops.scale(x34, any('2')), 's'],
  ['a not a tensor', () => ops.scale(any([1, 2]), 2), 'a'],
]);
add('scaleInPlace', [
  ['s undefined', () => ops.scaleInPlace(mk([2]), any(undefined)), 's', /undefined/],
  ['t disposed', () => ops.scaleInPlace(disposed([2]), 2), 't', /dispos/],
]);
add('sumSquares', [['t a plain object', () => ops.sumSquares(any({ shape: [2] })), 't']]);
add('copy', [
  ['dtype f16', () => ops.copy(x34, any({ dtype: 'f16' })), 'options', /dtype/],
  ['src null', () => ops.copy(any(null)), 'src', /null/],
]);
add('assign', [
  ['shapes differ', () => ops.assign(x34, mk([4, 3])), 'src', /\[3, 4\]/],
  ['dst disposed', () => ops.assign(disposed([3, 4]), x34), 'dst', /dispos/],
]);
add('split', [
  ['sizes do not sum to the last dimension', () => ops.split(x34, [1, 2]), 'sizes', /summing to 4/],
  ['sizes above the last dimension', () => ops.split(x34, [3, 2]), 'sizes'],
  ['negative size', () => ops.split(x34, [5, -1]), 'sizes', /entry 1/],
  ['fractional size', () => ops.split(x34, [1.5, 2.5]), 'sizes', /entry 0/],
  ['sizes empty', () => ops.split(x34, []), 'sizes'],
  ['sizes a number', () => ops.split(x34, any(4)), 'sizes'],
]);
add('concat', [
  ['not an array', () => ops.concat(any(x34)), 'tensors'],
  ['empty', () => ops.concat([]), 'tensors', /at least one/],
  ['an entry not a tensor', () => ops.concat([x34, any(null)]), 'tensors', /entry 1/],
  ['an entry disposed', () => ops.concat([x34, disposed([3, 1])]), 'tensors', /entry 1/],
  ['leading shapes differ', () => ops.concat([x34, mk([4, 4])]), 'tensors', /entry 1/],
  ['ranks differ', () => ops.concat([x34, mk([3, 1, 4])]), 'tensors', /entry 1/],
  ['dtypes differ', () => ops.concat([x34, mk([3, 2], 'bf16')]), 'tensors', /bf16/],
]);

// ---------------------------------------------------------------------------------------------
const p = mk([3, 4]);
const g = mk([3, 4]);
const m = mk([3, 4]);
const vv = mk([3, 4]);
const adam = { lr: 1e-3, step: 1 };
add('adamwStep', [
  ['param bf16', () => ops.adamwStep(x34h, g, m, vv, adam), 'param', /f32/],
  ['grad shape differs', () => ops.adamwStep(p, mk([4, 3]), m, vv, adam), 'grad', /\[3, 4\]/],
  ['m bf16', () => ops.adamwStep(p, g, mk([3, 4], 'bf16'), vv, adam), 'm', /bf16/],
  ['v shape differs', () => ops.adamwStep(p, g, m, mk([12]), adam), 'v'],
  ['m is v', () => ops.adamwStep(p, g, m, m, adam), 'v', /distinct/],
  ['grad is param', () => ops.adamwStep(p, p, m, vv, adam), 'grad', /distinct/],
  ['lr missing', () => ops.adamwStep(p, g, m, vv, any({ step: 1 })), 'options', /lr/],
  ['lr NaN', () => ops.adamwStep(p, g, m, vv, { ...adam, lr: NaN }), 'options', /lr/],
  ['lr negative', () => ops.adamwStep(p, g, m, vv, { ...adam, lr: -1 }), 'options', /lr/],
  ['step missing', () => ops.adamwStep(p, g, m, vv, any({ lr: 1e-3 })), 'options', /step/],
  ['step 0', () => ops.adamwStep(p, g, m, vv, { ...adam, step: 0 }), 'options', /step/],
  ['step 1.5', () => ops.adamwStep(p, g, m, vv, { ...adam, step: 1.5 }), 'options', /step/],
  ['beta1 = 1', () => ops.adamwStep(p, g, m, vv, { ...adam, beta1: 1 }), 'options', /beta1/],
  ['beta2 Infinity', () => ops.adamwStep(p, g, m, vv, { ...adam, beta2: Infinity }), 'options', /beta2/],
  ['eps 0', () => ops.adamwStep(p, g, m, vv, { ...adam, eps: 0 }), 'options', /eps/],
  ['weightDecay negative', () => ops.adamwStep(p, g, m, vv, { ...adam, weightDecay: -0.1 }), 'options', /weightDecay/],
]);
add('muonMomentum', [
  ['m bf16', () => ops.muonMomentum(mk([3, 4], 'bf16'), g), 'm', /f32/],
  ['grad shape differs', () => ops.muonMomentum(m, mk([3, 5])), 'grad', /\[3, 4\]/],
  ['grad is m', () => ops.muonMomentum(m, m), 'grad', /distinct/],
  ['momentum NaN', () => ops.muonMomentum(m, g, { momentum: NaN }), 'options', /momentum/],
  ['momentum 1', () => ops.muonMomentum(m, g, { momentum: 1 }), 'options', /momentum/],
  ['nesterov a string', () => ops.muonMomentum(m, g, any({ nesterov: 'true' })), 'options', /nesterov/],
]);
add('muonApply', [
  ['param bf16', () => ops.muonApply(mk([3, 4], 'bf16'), g, { lr: 0.1 }), 'param', /f32/],
  ['update shape differs', () => ops.muonApply(p, mk([4, 3]), { lr: 0.1 }), 'update', /\[3, 4\]/],
  ['update is param', () => ops.muonApply(p, p, { lr: 0.1 }), 'update', /distinct/],
  ['lr missing', () => ops.muonApply(p, g, any({})), 'options', /lr/],
  ['scale Infinity', () => ops.muonApply(p, g, { lr: 0.1, scale: Infinity }), 'options', /scale/],
  ['weightDecay NaN', () => ops.muonApply(p, g, { lr: 0.1, weightDecay: NaN }), 'options', /weightDecay/],
]);

// ---------------------------------------------------------------------------------------------

const OPS = [...new Set(rows.map((r) => r[2]))];

for (const op of OPS) {
  test(`bad calls to ${op}`, (t) => {
    for (const [description, thunk, o, argument, message] of rows.filter((r) => r[2] === op)) {
      assertInvalidArg(t, thunk, o, argument, message, description);
    }
  });
}

test('every nn op has rows in the bad-call table', (t) => {
  const expected = [
    'embedding', 'embeddingBackward', 'rmsNorm', 'rmsNormBackward', 'rope', 'attention', 'attentionBackward', 'swiglu',
    'swigluBackward', 'crossEntropy', 'crossEntropyBackward', 'moeRoute', 'moeRouteBackward', 'moePermute', 'moeUnpermute',
    'moeUnpermuteBackward', 'moePermuteBackward', 'moeSeqAuxLoss', 'add', 'scale', 'scaleInPlace', 'sumSquares', 'copy',
    'assign', 'split', 'concat', 'adamwStep', 'muonMomentum', 'muonApply',
  ];
  t.deepEqual([...OPS].sort(), [...expected].sort());
});

test('failed in-place calls leave their tensors untouched', (t) => {
  const before = [p, g, m, vv].map((x) => Array.from(x.toFloat32Array()));
  for (const [, thunk, op] of rows) {
    if (!['adamwStep', 'muonMomentum', 'muonApply', 'assign', 'scaleInPlace'].includes(op)) continue;
    try {
      thunk();
    } catch {
      // expected
    }
  }
  t.deepEqual([p, g, m, vv].map((x) => Array.from(x.toFloat32Array())), before);
});
