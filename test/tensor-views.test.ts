// Views: reshape and narrow share their tensor's memory; ops read and write through them; a
// write never lands on bytes the op also reads through another view; an index tensor's facts
// (permutation, range, sum) hold only for the whole tensor, so a part of one is checked again.
import test from 'ava';
import { debug, ops, tensor } from '../lib';
import { matmulRef, mulberry32, relFrobError } from './helpers/ref';
import { DTYPES, GEMM_TOL, assertInvalidArg, randTensor, read } from './helpers/util';

debug.poisonAllocations(true);

test('reshape shares the memory: a write through the view shows in the tensor', (t) => {
  const rng = mulberry32(1);
  const a = randTensor(rng, [3, 4], 'f32');
  const v = a.t.reshape([2, 6]);
  t.deepEqual(v.shape, [2, 6]);
  t.deepEqual(read(v), a.v);
  const src = randTensor(rng, [2, 6], 'f32');
  ops.assign(v, src.t);
  t.deepEqual(read(a.t), src.v);
  assertInvalidArg(t, () => a.t.reshape([5, 2]), 'reshape', 'shape', /12 elements/);
});

for (const dtype of [...DTYPES, 'i32'] as const) {
  test(`narrow ${dtype}: the window's values, shape, bytes and device copies`, (t) => {
    const rng = mulberry32(2);
    const shape = [7, 3, 5];
    const n = 7 * 3 * 5;
    const values = Float32Array.from({ length: n }, () => Math.round((rng() - 0.5) * 2000));
    const a = dtype === 'i32' ? tensor(Int32Array.from(values), shape, { dtype }) : tensor(values, shape, { dtype });
    const all = read(a);
    for (const [start, length] of [[0, 7], [2, 3], [6, 1], [7, 0], [0, 0]]) {
      const v = a.narrow(0, start, length);
      t.deepEqual(v.shape, [length, 3, 5]);
      t.deepEqual(read(v), all.slice(start * 15, (start + length) * 15));
      t.deepEqual(read(v.to('cpu')), read(v));
      t.is(v.toBytes().length, length * 15 * (dtype === 'bf16' ? 2 : 4));
    }
    // leading dimensions of size 1 keep the next axis contiguous; negative axes count from the end
    const b = a.narrow(0, 4, 1).narrow(1, 1, 2);
    t.deepEqual(b.shape, [1, 2, 5]);
    t.deepEqual(read(b), all.slice(4 * 15 + 5, 4 * 15 + 15));
    t.deepEqual(read(a.narrow(0, 4, 1).narrow(-2, 1, 2)), read(b));
  });
}

test('ops read views at their offset and write through them', (t) => {
  const rng = mulberry32(3);
  for (const dtype of DTYPES) {
    const M = 9, K = 13, N = 6;
    const x = randTensor(rng, [M, K], dtype);
    const w = randTensor(rng, [K, N], dtype);
    const rows = x.t.narrow(0, 3, 5);
    const y = ops.matmul(rows, w.t);
    const ref = matmulRef(x.v.slice(3 * K, 8 * K), w.v, 5, K, N);
    t.true(relFrobError(read(y), ref) < GEMM_TOL[dtype], dtype);
    // scaleInPlace and assign through a window leave the rest untouched
    const before = read(x.t);
    ops.scaleInPlace(x.t.narrow(0, 1, 2), 2);
    const after = read(x.t);
    for (let i = 0; i < M * K; i++) {
      const inside = i >= K && i < 3 * K;
      t.is(after[i], inside ? before[i] * 2 : before[i]); // doubling is exact in f32 and bf16
    }
  }
});

test('an op never writes bytes it also reads through an overlapping view', (t) => {
  const rng = mulberry32(4);
  const a = randTensor(rng, [6, 4], 'f32');
  assertInvalidArg(t, () => ops.assign(a.t.narrow(0, 0, 3), a.t.narrow(0, 1, 3)), 'assign', 'src', /memory overlapping dst/);
  // disjoint windows of one tensor are fine
  ops.assign(a.t.narrow(0, 0, 3), a.t.narrow(0, 3, 3));
  t.deepEqual(read(a.t).slice(0, 12), a.v.slice(12, 24));
  // assigning a tensor to itself is a no-op
  ops.assign(a.t, a.t.reshape([24]).reshape([6, 4]));
  const state = randTensor(rng, [8, 4], 'f32');
  const p = randTensor(rng, [3, 4], 'f32');
  const g = randTensor(rng, [3, 4], 'f32');
  assertInvalidArg(
    t,
    () => ops.adamwStep(p.t, g.t, state.t.narrow(0, 0, 3), state.t.narrow(0, 2, 3), { lr: 1e-3, step: 1 }),
    'adamwStep',
    'v',
    /memory overlapping m/,
  );
  ops.adamwStep(p.t, g.t, state.t.narrow(0, 0, 3), state.t.narrow(0, 3, 3), { lr: 1e-3, step: 1 });
  t.pass();
});

test('a window of an index tensor is checked again: its facts were the whole tensor\'s', (t) => {
  const rng = mulberry32(5);
  const T = 16, E = 4, K = 2, D = 3;
  const r = ops.moeRoute(randTensor(rng, [T, E], 'f32').t, randTensor(rng, [E], 'f32').t, { topK: K });
  const p = ops.moePermute(randTensor(rng, [T, D], 'f32').t, r.experts, E);
  const half = (T / 2) * K;
  const order = p.order.narrow(0, 0, half);
  const ys = randTensor(rng, [half, D], 'f32');
  const w = randTensor(rng, [T / 2, K], 'f32');
  const firstHalf = Array.from(order.toInt32Array());
  if (firstHalf.every((v) => v < half)) return t.fail('the seed should give a first half that is not a permutation of its own length');
  assertInvalidArg(t, () => ops.moeUnpermute(ys.t, order, w.t), 'moeUnpermute', 'order', /entry \d+ = \d+/);
  // the whole tensor through a view keeps its facts and its results
  const full = p.order.narrow(0, 0, T * K);
  const yf = randTensor(rng, [T * K, D], 'f32');
  const wf = randTensor(rng, [T, K], 'f32');
  t.deepEqual(read(ops.moeUnpermute(yf.t, full, wf.t)), read(ops.moeUnpermute(yf.t, p.order, wf.t)));
  // group sizes: a window does not sum to the rows any more
  const sizes = p.groupSizes.narrow(0, 0, E);
  t.deepEqual(sizes.toInt32Array(), p.groupSizes.toInt32Array());
});

test('a view outlives its tensor\'s dispose; the memory goes with the last of them', (t) => {
  const rng = mulberry32(6);
  const a = randTensor(rng, [4, 5], 'bf16');
  const v = a.t.narrow(0, 1, 2);
  a.t.dispose();
  t.deepEqual(read(v), a.v.slice(5, 15));
  v.dispose();
  t.throws(() => v.narrow(0, 0, 1), { message: /narrow: argument 'this'.*disposed/ });
});

test('bad calls to narrow name what was expected and what came', (t) => {
  const a = tensor(new Float32Array(24).fill(1), [2, 3, 4]);
  assertInvalidArg(t, () => a.narrow(1, 0, 2), 'narrow', 'axis', /contiguous in \[2, 3, 4\]; split copies any window\), got 1/);
  assertInvalidArg(t, () => a.narrow(3, 0, 1), 'narrow', 'axis', /an integer in \[-3, 2\], got 3/);
  assertInvalidArg(t, () => a.narrow(0.5, 0, 1), 'narrow', 'axis', /got 0.5/);
  assertInvalidArg(t, () => a.narrow(0, 3, 0), 'narrow', 'start', /an integer in \[0, 2\], got 3/);
  assertInvalidArg(t, () => a.narrow(0, 1, 2), 'narrow', 'length', /an integer in \[0, 1\], got 2/);
  assertInvalidArg(t, () => (a.narrow as (...x: unknown[]) => unknown)(0, '1', 1), 'narrow', 'start', /got the string "1"/);
});
