// ops.groupedMatmul against a float64 reference computed from the (rounded) inputs.
import test, { ExecutionContext } from 'ava';
import { ops, info, setNumThreads, debug } from '../../lib';
import { firstBitwiseDifference, groupedMatmulRef, matmulRef, mulberry32, zipfGroupSizes } from '../helpers/ref';
import { assertClose, assertInvalidArg, assertMeta, DType, DTYPES, GEMM_TOL, randTensor, read } from '../helpers/util';
import { devicesFor, onDevice, TestDevice } from '../helpers/devices';

debug.poisonAllocations(true);

function checkGrouped(
  t: ExecutionContext,
  seed: number,
  K: number,
  N: number,
  sizes: number[],
  dtype: DType,
  transB: boolean,
  asInt32 = false,
  device: TestDevice = 'cpu',
): void {
  const rng = mulberry32(seed);
  const T = sizes.reduce((p, q) => p + q, 0);
  const E = sizes.length;
  const x = randTensor(rng, [T, K], dtype, 1, device);
  const w = randTensor(rng, transB ? [E, N, K] : [E, K, N], dtype, 1, device);
  const label = `groupedMatmul ${dtype} T=${T} K=${K} N=${N} groups=[${sizes.join(',')}] transB=${transB}${asInt32 ? ' (Int32Array)' : ''}`;
  const gs = asInt32 ? Int32Array.from(sizes) : sizes.slice();
  const out = ops.groupedMatmul(x.t, w.t, gs, { transB });
  assertMeta(t, out, [T, N], dtype, label, device);
  assertClose(t, read(out), groupedMatmulRef(x.v, w.v, sizes, K, N, transB), GEMM_TOL[dtype], label);
  out.dispose();
  x.t.dispose();
  w.t.dispose();
}

for (const device of devicesFor(['groupedMatmul'])) for (const dtype of DTYPES) {
  for (const transB of [false, true]) {
    const tag = `${dtype} transB=${transB}`;

    test(`groupedMatmul ${tag}: Zipf-skewed groups over odd sizes${onDevice(device)}`, (t) => {
      const base = (dtype === 'f32' ? 100 : 200) + (transB ? 50 : 0);
      const rng = mulberry32(base);
      const configs: [number, number, number, number][] = [
        // T, K, N, E
        [100, 33, 7, 8],
        [129, 1, 65, 4],
        [7, 129, 33, 16],
        [1, 7, 1, 3],
        [33, 33, 33, 5],
        [257, 64, 48, 64],
        [65, 7, 129, 2],
      ];
      let seed = base;
      for (const [T, K, N, E] of configs) {
        const sizes = zipfGroupSizes(rng, T, E, 1.3);
        checkGrouped(t, seed++, K, N, sizes, dtype, transB, false, device);
      }
    });

    test(`groupedMatmul ${tag}: empty groups (first, last, middle), single group, T=0${onDevice(device)}`, (t) => {
      let seed = (dtype === 'f32' ? 300 : 400) + (transB ? 50 : 0);
      const groupings: number[][] = [
        [0, 5, 0, 3, 0],
        [0, 0, 0, 12],
        [12, 0, 0, 0],
        [0, 1],
        [1, 0],
        [33],
        [1],
        [0],
        [0, 0, 0],
        [3, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 9],
      ];
      for (const sizes of groupings) {
        for (const [K, N] of [
          [7, 33],
          [33, 1],
          [1, 7],
        ]) {
          checkGrouped(t, seed++, K, N, sizes, dtype, transB, false, device);
        }
      }
    });

    test(`groupedMatmul ${tag}: groupSizes as Int32Array${onDevice(device)}`, (t) => {
      const seed = (dtype === 'f32' ? 500 : 600) + (transB ? 50 : 0);
      checkGrouped(t, seed, 33, 7, [4, 0, 17, 12, 0], dtype, transB, true, device);
      checkGrouped(t, seed + 1, 7, 33, [0, 0, 0], dtype, transB, true, device);
    });
  }

  test(`groupedMatmul ${dtype}: a single group equals matmul${onDevice(device)}`, (t) => {
    const rng = mulberry32(dtype === 'f32' ? 700 : 800);
    const x = randTensor(rng, [65, 33], dtype, 1, device);
    const w = randTensor(rng, [1, 33, 17], dtype, 1, device);
    const out = ops.groupedMatmul(x.t, w.t, [65]);
    assertMeta(t, out, [65, 17], dtype, 'single group', device);
    assertClose(t, read(out), matmulRef(x.v, w.v, 65, 33, 17), GEMM_TOL[dtype], `${dtype} single group vs matmulRef`);
  });

  if (device === 'cpu') test(`groupedMatmul ${dtype}: the same call twice is bitwise identical, and 1 vs 2 threads too`, (t) => {
    const rng = mulberry32(dtype === 'f32' ? 900 : 1000);
    const sizes = [60, 0, 90, 50];
    const before = info().threads;
    try {
      for (const transB of [false, true]) {
        const x = randTensor(rng, [200, 300], dtype);
        const w = randTensor(rng, transB ? [4, 150, 300] : [4, 300, 150], dtype);
        const o1 = ops.groupedMatmul(x.t, w.t, sizes, { transB }).toFloat32Array();
        const o2 = ops.groupedMatmul(x.t, w.t, sizes, { transB }).toFloat32Array();
        t.is(firstBitwiseDifference(o1, o2), -1, `transB=${transB}: first index differing between two identical calls`);
        setNumThreads(1);
        const s1 = ops.groupedMatmul(x.t, w.t, sizes, { transB }).toFloat32Array();
        setNumThreads(2);
        const s2 = ops.groupedMatmul(x.t, w.t, sizes, { transB }).toFloat32Array();
        t.is(firstBitwiseDifference(s1, s2), -1, `transB=${transB}: first index differing between 1 and 2 threads`);
        assertClose(t, s2, groupedMatmulRef(x.v, w.v, sizes, 300, 150, transB), GEMM_TOL[dtype], `${dtype} 200x300x150 transB=${transB}`);
      }
    } finally {
      setNumThreads(before);
    }
    // (no equality check on the restored count: ava runs other test files concurrently in this
    // process, and the thread pool is process-wide)
    t.true(info().threads >= 1, 'thread count is positive');
  });
}

test('groupedMatmul: the groupSizes array passed in is not modified', (t) => {
  const rng = mulberry32(1100);
  const x = randTensor(rng, [10, 4], 'f32');
  const w = randTensor(rng, [3, 4, 5], 'f32');
  const sizes = [3, 0, 7];
  const sizes32 = Int32Array.from(sizes);
  ops.groupedMatmul(x.t, w.t, sizes).dispose();
  ops.groupedMatmul(x.t, w.t, sizes32).dispose();
  t.deepEqual(sizes, [3, 0, 7]);
  t.deepEqual(Array.from(sizes32), [3, 0, 7]);
});

test('groupedMatmul: mismatched w K, wrong group sizes throw', (t) => {
  const rng = mulberry32(1200);
  const x = randTensor(rng, [10, 4], 'f32');
  const w = randTensor(rng, [3, 5, 6], 'f32');
  assertInvalidArg(t, () => ops.groupedMatmul(x.t, w.t, [3, 3, 4]), 'groupedMatmul', 'w');
  const w2 = randTensor(rng, [3, 4, 6], 'f32');
  assertInvalidArg(t, () => ops.groupedMatmul(x.t, w2.t, [3, 3, 4], { transB: true }), 'groupedMatmul', 'w');
  assertInvalidArg(t, () => ops.groupedMatmul(x.t, w2.t, [3, 3]), 'groupedMatmul', 'groupSizes');
  assertInvalidArg(t, () => ops.groupedMatmul(x.t, w2.t, [3, 3, 3]), 'groupedMatmul', 'groupSizes');
  assertInvalidArg(t, () => ops.groupedMatmul(x.t, w2.t, [3, -1, 8]), 'groupedMatmul', 'groupSizes');
  assertInvalidArg(t, () => ops.groupedMatmul(x.t, w2.t, [3, 1.5, 5.5]), 'groupedMatmul', 'groupSizes');
});
