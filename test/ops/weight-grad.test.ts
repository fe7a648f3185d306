// ops.groupedWeightGrad against a float64 reference computed from the (rounded) inputs.
import test, { ExecutionContext } from 'ava';
import { ops, info, setNumThreads, debug } from '../../lib';
import { firstBitwiseDifference, groupedWeightGradRef, matmulRef, mulberry32, zipfGroupSizes } from '../helpers/ref';
import { assertClose, assertInvalidArg, assertMeta, DType, DTYPES, GEMM_TOL, randTensor, read } from '../helpers/util';
import { devicesFor, onDevice, TestDevice } from '../helpers/devices';

debug.poisonAllocations(true);

function checkWeightGrad(
  t: ExecutionContext,
  seed: number,
  K: number,
  N: number,
  sizes: number[],
  dtype: DType,
  asInt32 = false,
  device: TestDevice = 'cpu',
): void {
  const rng = mulberry32(seed);
  const T = sizes.reduce((p, q) => p + q, 0);
  const E = sizes.length;
  const x = randTensor(rng, [T, K], dtype, 1, device);
  const dy = randTensor(rng, [T, N], dtype, 1, device);
  const label = `groupedWeightGrad ${dtype} T=${T} K=${K} N=${N} groups=[${sizes.join(',')}]${asInt32 ? ' (Int32Array)' : ''}`;
  const out = ops.groupedWeightGrad(x.t, dy.t, asInt32 ? Int32Array.from(sizes) : sizes.slice());
  assertMeta(t, out, [E, K, N], dtype, label, device);
  const got = read(out);
  assertClose(t, got, groupedWeightGradRef(x.v, dy.v, sizes, K, N), GEMM_TOL[dtype], label);
  // empty groups must give exact zeros (poisoned buffers would show NaN here)
  for (let e = 0; e < E; e++) {
    if (sizes[e] !== 0) continue;
    const slice = got.subarray(e * K * N, (e + 1) * K * N);
    t.true(
      slice.every((v) => v === 0),
      `${label}: empty group ${e} is not all zeros (first value ${slice.find((v) => v !== 0)})`,
    );
  }
  out.dispose();
  x.t.dispose();
  dy.t.dispose();
}

for (const device of devicesFor(['groupedWeightGrad'])) for (const dtype of DTYPES) {
  test(`groupedWeightGrad ${dtype}: Zipf-skewed groups over odd sizes${onDevice(device)}`, (t) => {
    const base = dtype === 'f32' ? 100 : 200;
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
      [300, 17, 19, 3],
    ];
    let seed = base;
    for (const [T, K, N, E] of configs) checkWeightGrad(t, seed++, K, N, zipfGroupSizes(rng, T, E, 1.3), dtype, false, device);
  });

  test(`groupedWeightGrad ${dtype}: empty groups (first, last, middle), single group, T=0${onDevice(device)}`, (t) => {
    let seed = dtype === 'f32' ? 300 : 400;
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
        checkWeightGrad(t, seed++, K, N, sizes, dtype, false, device);
      }
    }
  });

  test(`groupedWeightGrad ${dtype}: groupSizes as Int32Array${onDevice(device)}`, (t) => {
    const seed = dtype === 'f32' ? 500 : 600;
    checkWeightGrad(t, seed, 33, 7, [4, 0, 17, 12, 0], dtype, true, device);
    checkWeightGrad(t, seed + 1, 7, 33, [0, 0, 0], dtype, true, device);
  });

  test(`groupedWeightGrad ${dtype}: a single group equals x^T dy${onDevice(device)}`, (t) => {
    const rng = mulberry32(dtype === 'f32' ? 700 : 800);
    const x = randTensor(rng, [65, 33], dtype, 1, device);
    const dy = randTensor(rng, [65, 17], dtype, 1, device);
    const out = ops.groupedWeightGrad(x.t, dy.t, [65]);
    assertMeta(t, out, [1, 33, 17], dtype, 'single group', device);
    assertClose(t, read(out), matmulRef(x.v, dy.v, 33, 65, 17, true, false), GEMM_TOL[dtype], `${dtype} single group vs x^T dy`);
  });

  if (device === 'cpu') test(`groupedWeightGrad ${dtype}: the same call twice is bitwise identical, and 1 vs 2 threads too`, (t) => {
    const rng = mulberry32(dtype === 'f32' ? 900 : 1000);
    const sizes = [60, 0, 90, 50];
    const x = randTensor(rng, [200, 300], dtype);
    const dy = randTensor(rng, [200, 150], dtype);
    const before = info().threads;
    try {
      const o1 = ops.groupedWeightGrad(x.t, dy.t, sizes).toFloat32Array();
      const o2 = ops.groupedWeightGrad(x.t, dy.t, sizes).toFloat32Array();
      t.is(firstBitwiseDifference(o1, o2), -1, 'first index differing between two identical calls');
      setNumThreads(1);
      const s1 = ops.groupedWeightGrad(x.t, dy.t, sizes).toFloat32Array();
      setNumThreads(2);
      const s2 = ops.groupedWeightGrad(x.t, dy.t, sizes).toFloat32Array();
      t.is(firstBitwiseDifference(s1, s2), -1, 'first index differing between 1 and 2 threads');
      assertClose(t, s2, groupedWeightGradRef(x.v, dy.v, sizes, 300, 150), GEMM_TOL[dtype], `${dtype} 200x300x150`);
    } finally {
      setNumThreads(before);
    }
    // (no equality check on the restored count: ava runs other test files concurrently in this
    // process, and the thread pool is process-wide)
    t.true(info().threads >= 1, 'thread count is positive');
  });
}

test('groupedWeightGrad: mismatched rows and wrong group sizes throw', (t) => {
  const rng = mulberry32(1200);
  const x = randTensor(rng, [10, 4], 'f32');
  const dy = randTensor(rng, [9, 6], 'f32');
  assertInvalidArg(t, () => ops.groupedWeightGrad(x.t, dy.t, [3, 3, 4]), 'groupedWeightGrad', 'dy');
  const dy2 = randTensor(rng, [10, 6], 'f32');
  assertInvalidArg(t, () => ops.groupedWeightGrad(x.t, dy2.t, [3, 3, 3]), 'groupedWeightGrad', 'groupSizes');
  assertInvalidArg(t, () => ops.groupedWeightGrad(x.t, dy2.t, [3, -1, 8]), 'groupedWeightGrad', 'groupSizes');
  assertInvalidArg(t, () => ops.groupedWeightGrad(x.t, dy2.t, [3, 1.5, 5.5]), 'groupedWeightGrad', 'groupSizes');
  assertInvalidArg(t, () => ops.groupedWeightGrad(x.t, dy2.t, []), 'groupedWeightGrad', 'groupSizes');
});
