// ops.matmul and ops.groupedMatmul with `add` (C = product + add, one pass, one rounding) against
// float64 references; the blocks the microkernel finishes itself and the remainder rows and
// columns must agree bit for bit with the plain product followed by the same f32 sum.
import test from 'ava';
import { ops, info, setNumThreads, debug } from '../../lib';
import { firstBitwiseDifference, groupedMatmulRef, matmulRef, mulberry32, zipfGroupSizes } from '../helpers/ref';
import { assertClose, assertInvalidArg, assertMeta, DTYPES, GEMM_TOL, randTensor, read } from '../helpers/util';
import { devicesFor, onDevice } from '../helpers/devices';

debug.poisonAllocations(true);

// Shapes with whole 14 x 32 blocks and remainders, K odd and even, and one beyond a k block.
const SHAPES: [number, number, number][] = [
  [1, 7, 1],
  [33, 64, 65],
  [28, 130, 64],
  [129, 33, 7],
  [42, 1030, 96],
];

function plus(p: Float64Array | number[], add: ArrayLike<number>): number[] {
  return Array.from(p, (v, i) => v + add[i]);
}

for (const device of devicesFor(['matmul'])) for (const dtype of DTYPES) {
  test(`matmul ${dtype} with add: odd shapes, all transposes, inputs unchanged${onDevice(device)}`, (t) => {
    let seed = dtype === 'f32' ? 7100 : 7200;
    for (const [m, k, n] of SHAPES)
      for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]] as const) {
        const rng = mulberry32(seed++);
        const a = randTensor(rng, ta ? [k, m] : [m, k], dtype, 1, device);
        const b = randTensor(rng, tb ? [n, k] : [k, n], dtype, 1, device);
        const add = randTensor(rng, [m, n], dtype, 1, device);
        const label = `matmul ${dtype} m=${m} k=${k} n=${n} transA=${ta} transB=${tb} add`;
        const out = ops.matmul(a.t, b.t, { transA: ta, transB: tb, add: add.t });
        assertMeta(t, out, [m, n], dtype, label, device);
        assertClose(t, read(out), plus(matmulRef(a.v, b.v, m, k, n, ta, tb), add.v), GEMM_TOL[dtype], label);
        t.deepEqual(read(add.t), add.v, `${label}: add unchanged`);
        for (const x of [a.t, b.t, add.t, out]) x.dispose();
      }
  });

  if (device === 'cpu') test(`matmul ${dtype} with add: equals the f32 sum of the product and add, rounded once, for any thread count`, (t) => {
    const rng = mulberry32(dtype === 'f32' ? 7300 : 7400);
    const a = randTensor(rng, [70, 96], dtype, 1, device), b = randTensor(rng, [96, 100], dtype, 1, device), add = randTensor(rng, [70, 100], dtype, 1, device);
    const a32 = ops.copy(a.t, { dtype: 'f32' }), b32 = ops.copy(b.t, { dtype: 'f32' });
    const p32 = ops.matmul(a32, b32, { add: undefined }).toFloat32Array();
    const before = info().threads;
    try {
      setNumThreads(1);
      const o1 = ops.matmul(a.t, b.t, { add: add.t }).toFloat32Array();
      setNumThreads(2);
      const o2 = ops.matmul(a.t, b.t, { add: add.t }).toFloat32Array();
      t.is(firstBitwiseDifference(o1, o2), -1, 'first index differing between 1 and 2 threads');
      // In f32 the fused sum is the f32 product plus add, rounded once; in bf16 the product is
      // not rounded to bf16 before the sum, so it is within one bf16 rounding of that.
      const ref = Array.from(p32, (v, i) => Math.fround(v + add.v[i]));
      if (dtype === 'f32') t.is(firstBitwiseDifference(o2, Float32Array.from(ref)), -1, 'f32: product + add rounded once');
      else assertClose(t, o2, ref, GEMM_TOL[dtype], 'bf16: product + add');
    } finally {
      setNumThreads(before);
    }
  });
}

for (const device of devicesFor(['groupedMatmul'])) for (const dtype of DTYPES) {
  test(`groupedMatmul ${dtype} with add: skewed groups, both layouts of w${onDevice(device)}`, (t) => {
    let seed = dtype === 'f32' ? 7500 : 7600;
    for (const transB of [false, true])
      for (const [T, K, N, E] of [[100, 33, 7, 8], [257, 64, 64, 6], [129, 130, 96, 3]]) {
        const rng = mulberry32(seed++);
        const sizes = zipfGroupSizes(rng, T, E, 1.3);
        const x = randTensor(rng, [T, K], dtype, 1, device), w = randTensor(rng, transB ? [E, N, K] : [E, K, N], dtype, 1, device), add = randTensor(rng, [T, N], dtype, 1, device);
        const label = `groupedMatmul ${dtype} T=${T} K=${K} N=${N} transB=${transB} add`;
        const out = ops.groupedMatmul(x.t, w.t, sizes, { transB, add: add.t });
        assertMeta(t, out, [T, N], dtype, label, device);
        assertClose(t, read(out), plus(groupedMatmulRef(x.v, w.v, sizes, K, N, transB), add.v), GEMM_TOL[dtype], label);
        for (const y of [x.t, w.t, add.t, out]) y.dispose();
      }
  });
}

test('matmul / groupedMatmul: a wrong add is a clear error', (t) => {
  const rng = mulberry32(7700);
  const a = randTensor(rng, [5, 4], 'f32'), b = randTensor(rng, [4, 3], 'f32');
  assertInvalidArg(t, () => ops.matmul(a.t, b.t, { add: randTensor(rng, [3, 5], 'f32').t }), 'matmul', 'options.add', /shape \[5, 3\]/);
  assertInvalidArg(t, () => ops.matmul(a.t, b.t, { add: randTensor(rng, [5, 3], 'bf16').t }), 'matmul', 'options.add', /f32/);
  assertInvalidArg(t, () => ops.matmul(a.t, b.t, { add: [1, 2] as never }), 'matmul', 'options.add');
  const x = randTensor(rng, [6, 4], 'f32'), w = randTensor(rng, [2, 4, 3], 'f32');
  assertInvalidArg(t, () => ops.groupedMatmul(x.t, w.t, [2, 4], { add: randTensor(rng, [6, 4], 'f32').t }), 'groupedMatmul', 'options.add', /shape \[6, 3\]/);
});
