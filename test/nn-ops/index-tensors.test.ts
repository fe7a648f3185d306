// i32 index tensors: made from Int32Array or integers, read back exactly, refused by the
// arithmetic ops; the MoE ops return them and take them back without a JS array in between, and
// an index tensor the user made is checked where it is passed (one an op made is not).
import test from 'ava';
import { debug, ops, tensor } from '../../lib';
import { mulberry32, randInt } from '../helpers/ref';
import { assertInvalidArg, randTensor, read } from '../helpers/util';

debug.poisonAllocations(true);

test('i32 tensors round trip Int32Array and integers exactly; non-integers are refused', (t) => {
  const values = Int32Array.from([0, -1, 2147483647, -2147483648, 17, 3]);
  const a = tensor(values, [2, 3], { dtype: 'i32' });
  t.is(a.dtype, 'i32');
  t.deepEqual(a.shape, [2, 3]);
  t.deepEqual(a.toInt32Array(), values);
  t.deepEqual(Array.from(a.toFloat32Array()), Array.from(values, (v) => Math.fround(v)));
  t.deepEqual(tensor([5, -6, 7], [3], { dtype: 'i32' }).toInt32Array(), Int32Array.from([5, -6, 7]));
  assertInvalidArg(t, () => tensor([1.5], [1], { dtype: 'i32' }), 'tensor', 'data', /integers/);
  assertInvalidArg(t, () => tensor([2 ** 31], [1], { dtype: 'i32' }), 'tensor', 'data', /integers/);
  assertInvalidArg(t, () => tensor(new Float32Array(2), [2], { dtype: 'i32' }), 'tensor', 'data', /Int32Array/);
  assertInvalidArg(t, () => tensor(new Int32Array(2), [2]), 'tensor', 'data', /Float32Array/);
  const f = tensor([1, 2], [2]);
  t.throws(() => f.toInt32Array(), { message: /expected an i32 tensor, got a f32 tensor/ });
});

test('the arithmetic ops refuse i32 tensors by name', (t) => {
  const a = tensor([1, 2, 3, 4], [2, 2], { dtype: 'i32' });
  const f = tensor([1, 2, 3, 4], [2, 2]);
  assertInvalidArg(t, () => ops.matmul(a, f), 'matmul', 'a', /expected an f32 or bf16 tensor, got an i32 tensor/);
  assertInvalidArg(t, () => ops.add(f, a), 'add', 'b', /i32/);
  assertInvalidArg(t, () => ops.copy(a), 'copy', 'src', /i32/);
  assertInvalidArg(t, () => ops.assign(a, f), 'assign', 'dst', /i32/);
});

test('MoE index tensors flow from op to op and give what Int32Arrays give', (t) => {
  const rng = mulberry32(41);
  const T = 13, E = 6, K = 2, D = 5;
  const logits = randTensor(rng, [T, E], 'f32');
  const bias = randTensor(rng, [E], 'f32');
  const r = ops.moeRoute(logits.t, bias.t, { topK: K });
  t.is(r.experts.dtype, 'i32');
  t.deepEqual(r.experts.shape, [T * K]);
  const x = randTensor(rng, [T, D], 'bf16');
  const p = ops.moePermute(x.t, r.experts, E);
  const q = ops.moePermute(x.t, r.experts.toInt32Array(), E);
  t.deepEqual(p.order.toInt32Array(), q.order.toInt32Array());
  t.deepEqual(p.groupSizes.toInt32Array(), q.groupSizes.toInt32Array());
  t.is(p.groupSizes.toInt32Array().reduce((a, b) => a + b, 0), T * K);
  const w = randTensor(rng, [E, 4, D], 'bf16');
  t.deepEqual(read(ops.groupedMatmul(p.xs, w.t, p.groupSizes, { transB: true })), read(ops.groupedMatmul(p.xs, w.t, Array.from(p.groupSizes.toInt32Array()), { transB: true })));
  const weights = r.weights;
  const ys = randTensor(rng, [T * K, D], 'bf16');
  t.deepEqual(read(ops.moeUnpermute(ys.t, p.order, weights)), read(ops.moeUnpermute(ys.t, p.order.toInt32Array(), weights)));
  t.deepEqual(read(ops.moePermuteBackward(ys.t, p.order, K)), read(ops.moePermuteBackward(ys.t, p.order.toInt32Array(), K)));
  const scores = r.scores;
  const aux = ops.moeSeqAuxLoss(scores, r.experts, { batch: 1, seqLen: T, topK: K, alpha: 0.01 });
  const auxA = ops.moeSeqAuxLoss(scores, r.experts.toInt32Array(), { batch: 1, seqLen: T, topK: K, alpha: 0.01 });
  t.is(aux.loss, auxA.loss);
});

test('an index tensor the user made is checked where it is passed', (t) => {
  const rng = mulberry32(42);
  const T = 4, E = 3, K = 2, D = 3;
  const x = randTensor(rng, [T, D], 'f32');
  const experts = Int32Array.from({ length: T * K }, () => randInt(rng, 0, E - 1));
  const i32 = (v: number[]) => tensor(v, [v.length], { dtype: 'i32' });
  assertInvalidArg(t, () => ops.moePermute(x.t, i32([0, 1, 2, 3, 0, 1, 2, 0]), E), 'moePermute', 'experts', /entry 3 = 3/);
  const p = ops.moePermute(x.t, experts, E);
  const ys = randTensor(rng, [T * K, D], 'f32');
  const w = randTensor(rng, [T, K], 'f32');
  assertInvalidArg(t, () => ops.moeUnpermute(ys.t, i32([0, 1, 2, 3, 4, 5, 6, 6]), w.t), 'moeUnpermute', 'order', /repeated/);
  assertInvalidArg(t, () => ops.moePermuteBackward(ys.t, i32([7, 6, 5, 4, 3, 2, 1, 8]), K), 'moePermuteBackward', 'order', /entry 7 = 8/);
  assertInvalidArg(t, () => ops.moeUnpermute(ys.t, i32([0, 1, 2]), w.t), 'moeUnpermute', 'order', /length 3/);
  const wg = randTensor(rng, [E, D, 2], 'f32');
  assertInvalidArg(t, () => ops.groupedMatmul(p.xs, wg.t, i32([2, 2, 2])), 'groupedMatmul', 'groupSizes', /a sum of 6/);
  assertInvalidArg(t, () => ops.groupedMatmul(p.xs, wg.t, i32([0, -1, 9])), 'groupedMatmul', 'groupSizes', /entry 1 -1/);
  // a user's valid tensors work like the op's own
  const order = i32(Array.from(p.order.toInt32Array()));
  t.deepEqual(read(ops.moeUnpermute(ys.t, order, w.t)), read(ops.moeUnpermute(ys.t, p.order, w.t)));
  // float tensors are not index tensors
  assertInvalidArg(t, () => ops.moeUnpermute(ys.t, tensor(new Float32Array(8), [8]) as never, w.t), 'moeUnpermute', 'order', /expected an i32 tensor, got a f32 tensor/);
});
