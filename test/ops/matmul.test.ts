// ops.matmul against a float64 reference computed from the (rounded) inputs the tensors hold.
import test from 'ava';
import { ops, info, setNumThreads, debug, Tensor } from '../../lib';
import { firstBitwiseDifference, matmulRef, mulberry32 } from '../helpers/ref';
import { assertClose, assertInvalidArg, assertMeta, DType, DTYPES, GEMM_TOL, isInvalidArgError, randTensor, read } from '../helpers/util';
import { devicesFor, onDevice, TestDevice } from '../helpers/devices';

debug.poisonAllocations(true);

const SIZES = [1, 7, 33, 129];
// On the GPU (the emulator in CI runs a kernel's threads one at a time): 1, 7 and 65 still cross
// the 64-wide tiles of both GEMMs.
const CUDA_SIZES = [1, 7, 65];
const TRANS: [boolean, boolean][] = [
  [false, false],
  [true, false],
  [false, true],
  [true, true],
];

function stored(m: number, k: number, n: number, transA: boolean, transB: boolean): [number[], number[]] {
  return [transA ? [k, m] : [m, k], transB ? [n, k] : [k, n]];
}

function checkMatmul(
  t: import('ava').ExecutionContext,
  seed: number,
  m: number,
  k: number,
  n: number,
  dtype: DType,
  transA: boolean,
  transB: boolean,
  device: TestDevice,
): void {
  const rng = mulberry32(seed);
  const [sa, sb] = stored(m, k, n, transA, transB);
  const a = randTensor(rng, sa, dtype, 1, device);
  const b = randTensor(rng, sb, dtype, 1, device);
  const label = `matmul ${dtype} m=${m} k=${k} n=${n} transA=${transA} transB=${transB}`;
  const out = ops.matmul(a.t, b.t, { transA, transB });
  assertMeta(t, out, [m, n], dtype, label, device);
  assertClose(t, read(out), matmulRef(a.v, b.v, m, k, n, transA, transB), GEMM_TOL[dtype], label);
  out.dispose();
  a.t.dispose();
  b.t.dispose();
}

for (const device of devicesFor(['matmul'])) for (const dtype of DTYPES) {
  const sizes = device === 'cpu' ? SIZES : CUDA_SIZES;
  test(`matmul ${dtype}: all sizes in {${sizes}}^3, all four transpose combos${onDevice(device)}`, (t) => {
    let seed = dtype === 'f32' ? 1000 : 2000;
    for (const m of sizes) {
      for (const k of sizes) {
        for (const n of sizes) {
          for (const [ta, tb] of TRANS) checkMatmul(t, seed++, m, k, n, dtype, ta, tb, device);
        }
      }
    }
  });

  test(`matmul ${dtype}: mixed odd shapes${onDevice(device)}`, (t) => {
    const shapes: [number, number, number][] = [
      [1, 129, 7],
      [33, 1, 65],
      [65, 200, 3],
      [2, 3, 1],
      [17, 64, 255],
      [100, 37, 1],
      ...(device === 'cpu' ? [[256, 256, 256]] as [number, number, number][] : []),
      [28, 1030, 33],  // whole 14-row panels read in place, K over several k blocks
    ];
    let seed = dtype === 'f32' ? 3000 : 4000;
    for (const [m, k, n] of shapes) for (const [ta, tb] of TRANS) checkMatmul(t, seed++, m, k, n, dtype, ta, tb, device);
  });

  test(`matmul ${dtype}: options omitted or empty means no transposes${onDevice(device)}`, (t) => {
    const rng = mulberry32(dtype === 'f32' ? 5 : 6);
    const a = randTensor(rng, [9, 13], dtype, 1, device);
    const b = randTensor(rng, [13, 5], dtype, 1, device);
    const ref = matmulRef(a.v, b.v, 9, 13, 5);
    for (const out of [ops.matmul(a.t, b.t), ops.matmul(a.t, b.t, {}), ops.matmul(a.t, b.t, { transA: false })]) {
      assertMeta(t, out, [9, 5], dtype, 'default options', device);
      assertClose(t, read(out), ref, GEMM_TOL[dtype], `matmul ${dtype} default options`);
      out.dispose();
    }
  });

  test(`matmul ${dtype}: the same call twice is bitwise identical${onDevice(device)}`, (t) => {
    const rng = mulberry32(dtype === 'f32' ? 7 : 8);
    const [m, k, n] = device === 'cpu' ? [200, 300, 150] : [70, 90, 66];
    const a = randTensor(rng, [m, k], dtype, 1, device);
    const b = randTensor(rng, [k, n], dtype, 1, device);
    const o1 = ops.matmul(a.t, b.t).toFloat32Array();
    const o2 = ops.matmul(a.t, b.t).toFloat32Array();
    t.is(firstBitwiseDifference(o1, o2), -1, 'first differing index');
  });

  if (device === 'cpu') test(`matmul ${dtype}: setNumThreads(1) and setNumThreads(2) give bitwise identical results`, (t) => {
    const rng = mulberry32(dtype === 'f32' ? 9 : 10);
    const before = info().threads;
    try {
      for (const [ta, tb] of TRANS) {
        const [sa, sb] = stored(200, 300, 150, ta, tb);
        const a = randTensor(rng, sa, dtype, 1, device);
        const b = randTensor(rng, sb, dtype, 1, device);
        setNumThreads(1);
        const o1 = ops.matmul(a.t, b.t, { transA: ta, transB: tb }).toFloat32Array();
        setNumThreads(2);
        const o2 = ops.matmul(a.t, b.t, { transA: ta, transB: tb }).toFloat32Array();
        t.is(firstBitwiseDifference(o1, o2), -1, `transA=${ta} transB=${tb}: first index differing between 1 and 2 threads`);
        assertClose(t, o2, matmulRef(a.v, b.v, 200, 300, 150, ta, tb), GEMM_TOL[dtype], `matmul ${dtype} 200x300x150 threaded`);
      }
    } finally {
      setNumThreads(before);
    }
    // (no equality check on the restored count: ava runs other test files concurrently in this
    // process, and the thread pool is process-wide)
    t.true(info().threads >= 1, 'thread count is positive');
  });
}

for (const device of devicesFor(['matmul'])) test(`matmul: bf16 output holds bf16-representable values${onDevice(device)}`, (t) => {
  const rng = mulberry32(11);
  const a = randTensor(rng, [7, 33], 'bf16', 1, device);
  const b = randTensor(rng, [33, 7], 'bf16', 1, device);
  const out = ops.matmul(a.t, b.t).toFloat32Array();
  const bits = new Uint32Array(out.buffer, out.byteOffset, out.length);
  t.true(bits.every((u) => (u & 0xffff) === 0), 'low 16 bits of every float32 are zero');
});

for (const device of devicesFor(['matmul'])) test(`matmul: inputs are not modified${onDevice(device)}`, (t) => {
  const rng = mulberry32(12);
  for (const dtype of DTYPES) {
    const a = randTensor(rng, [33, 7], dtype, 1, device);
    const b = randTensor(rng, [33, 65], dtype, 1, device);
    ops.matmul(a.t, b.t, { transA: true }).dispose();
    t.deepEqual(read(a.t), a.v, `${dtype} a unchanged`);
    t.deepEqual(read(b.t), b.v, `${dtype} b unchanged`);
  }
});

for (const device of devicesFor(['matmul'])) test(`matmul: the same tensor as both operands${onDevice(device)}`, (t) => {
  const rng = mulberry32(13);
  for (const dtype of DTYPES) {
    const a = randTensor(rng, [33, 65], dtype, 1, device);
    const out = ops.matmul(a.t, a.t, { transB: true });
    assertMeta(t, out, [33, 33], dtype, 'a a^T', device);
    assertClose(t, read(out), matmulRef(a.v, a.v, 33, 65, 33, false, true), GEMM_TOL[dtype], `${dtype} a a^T`);
  }
});

for (const device of devicesFor(['matmul'])) test(`matmul: zero-size dimensions either work (zeros / empty) or throw an invalid-argument error${onDevice(device)}`, (t) => {
  const rng = mulberry32(14);
  const cases: [number, number, number][] = [
    [0, 5, 3],
    [4, 0, 3],
    [4, 5, 0],
  ];
  for (const dtype of DTYPES) {
    for (const [m, k, n] of cases) {
      const a = randTensor(rng, [m, k], dtype, 1, device);
      const b = randTensor(rng, [k, n], dtype, 1, device);
      let out: Tensor | undefined;
      try {
        out = ops.matmul(a.t, b.t);
      } catch (e) {
        t.true(isInvalidArgError(e), `${dtype} ${m}x${k}x${n}: threw something other than an invalid-argument error: ${String(e)}`);
        continue;
      }
      assertMeta(t, out, [m, n], dtype, `${dtype} ${m}x${k}x${n}`, device);
      t.true(read(out).every((v) => v === 0), `${dtype} ${m}x${k}x${n}: a product over k=0 is zeros`);
    }
  }
});

test('matmul: inner dimension mismatch throws', (t) => {
  const rng = mulberry32(15);
  const a = randTensor(rng, [3, 4], 'f32');
  const b = randTensor(rng, [5, 2], 'f32');
  assertInvalidArg(t, () => ops.matmul(a.t, b.t), 'matmul', ['a', 'b']);
  assertInvalidArg(t, () => ops.matmul(a.t, b.t, { transA: true }), 'matmul', ['a', 'b']);
});
