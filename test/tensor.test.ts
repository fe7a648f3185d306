// Tensor construction, bf16 rounding, read back, and lifetime.
import test from 'ava';
import { tensor, Tensor, ops, debug, info } from '../lib';
import { bf16Round, f32Bits, mulberry32, randn } from './helpers/ref';
import { assertInvalidArg } from './helpers/util';
import { numel } from '../lib/shape';

debug.poisonAllocations(true);

function bitsOf(a: Float32Array): number[] {
  return Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
}

test('f32 round trip from a Float32Array is exact, including specials', (t) => {
  const rng = mulberry32(1);
  const data = randn(rng, 1000, 10);
  data.set([0, -0, Infinity, -Infinity, 1e-40, -1e-45, 3.4028234663852886e38, Number.NaN], 0);
  const x = tensor(data, [10, 100]);
  t.is(x.dtype, 'f32', 'default dtype is f32');
  t.is(x.device, 'cpu');
  t.false(x.disposed);
  t.deepEqual(x.shape, [10, 100]);
  const back = x.toFloat32Array();
  t.true(back instanceof Float32Array, 'toFloat32Array returns a Float32Array');
  t.is(back.length, 1000);
  const nanIdx = 7;
  t.true(Number.isNaN(back[nanIdx]), 'NaN preserved');
  const bb = bitsOf(back);
  const bd = bitsOf(data);
  for (let i = 0; i < 1000; i++) {
    if (i === nanIdx) continue;
    if (bb[i] !== bd[i]) {
      t.fail(`element ${i}: wrote ${data[i]} (0x${bd[i].toString(16)}), read ${back[i]} (0x${bb[i].toString(16)})`);
      return;
    }
  }
  t.pass();
});

test('explicit dtype f32 and empty options behave like the default', (t) => {
  const data = Float32Array.from([1.5, -2.25, 3.125]);
  for (const x of [tensor(data, [3], { dtype: 'f32' }), tensor(data, [3], {}), tensor(data, [3], undefined)]) {
    t.is(x.dtype, 'f32');
    t.deepEqual(Array.from(x.toFloat32Array()), [1.5, -2.25, 3.125]);
  }
});

test('number[] input is converted to float32', (t) => {
  const x = tensor([0.1, 1 / 3, -7, 1e10], [2, 2]);
  t.deepEqual(Array.from(x.toFloat32Array()), [Math.fround(0.1), Math.fround(1 / 3), -7, 1e10]);
  const y = tensor([0.1, 1 / 3, -7, 1e10], [4], { dtype: 'bf16' });
  t.deepEqual(Array.from(y.toFloat32Array()), [bf16Round(0.1), bf16Round(1 / 3), -7, bf16Round(1e10)]);
});

test('bf16 rounding: round to nearest, ties to even', (t) => {
  const cases: [string, number, number][] = [
    ['exact 1', 1, 1],
    ['tie 1 + 2^-8 rounds down to even', 1 + 2 ** -8, 1],
    ['tie 1 + 3*2^-8 rounds up to even', 1 + 3 * 2 ** -8, 1 + 2 ** -6],
    ['just above the tie rounds up', 1 + 2 ** -8 + 2 ** -16, 1 + 2 ** -7],
    ['just below the tie rounds down', 1 + 2 ** -8 - 2 ** -20, 1],
    ['negative tie rounds to even', -(1 + 3 * 2 ** -8), -(1 + 2 ** -6)],
    ['mantissa carry into the exponent', 2 - 2 ** -9, 2],
    ['largest bf16', 3.3895313892515355e38, 3.3895313892515355e38],
    ['FLT_MAX rounds to +Inf', 3.4028234663852886e38, Infinity],
    ['-FLT_MAX rounds to -Inf', -3.4028234663852886e38, -Infinity],
    ['+Inf', Infinity, Infinity],
    ['-Inf', -Infinity, -Infinity],
    ['smallest normal float32', 2 ** -126, 2 ** -126],
    ['float32 subnormal keeps its top 7 mantissa bits', 2 ** -133 + 2 ** -149, 2 ** -133],
    ['smallest float32 subnormal rounds to zero', 2 ** -149, 0],
    ['subnormal tie rounds down to even (zero)', 2 ** -134, 0],
    ['subnormal tie rounds up to even', 3 * 2 ** -134, 2 ** -132],
    ['0.1', 0.1, 0.10009765625],
    ['pi', Math.PI, 3.140625],
  ];
  const x = tensor(
    cases.map((c) => c[1]),
    [cases.length],
    { dtype: 'bf16' },
  );
  t.is(x.dtype, 'bf16');
  const back = x.toFloat32Array();
  cases.forEach(([name, input, want], i) => {
    t.is(back[i], want, `${name}: bf16(${input}) read back as ${back[i]}, expected ${want}`);
    t.is(bf16Round(input), want, `reference bf16Round agrees for ${name}`);
  });
  const z = tensor(Float32Array.from([-0, 0]), [2], { dtype: 'bf16' }).toFloat32Array();
  t.true(Object.is(z[0], -0) && Object.is(z[1], 0), 'signed zeros preserved');
  const n = tensor(Float32Array.from([Number.NaN, -Number.NaN]), [2], { dtype: 'bf16' }).toFloat32Array();
  t.true(Number.isNaN(n[0]) && Number.isNaN(n[1]), `NaN preserved (got ${n[0]}, ${n[1]})`);
  // NaN payloads that would round into the exponent must stay NaN, not become Inf
  const payload = new Float32Array(new Uint32Array([0x7fffffff, 0xffffffff, 0x7f800001, 0x7fc00000]).buffer);
  const p = tensor(payload, [4], { dtype: 'bf16' }).toFloat32Array();
  t.true(
    Array.from(p).every((v) => Number.isNaN(v)),
    `NaN payloads stay NaN: ${Array.from(p).join(', ')}`,
  );
});

test('bf16 rounding of random values matches the reference bitwise', (t) => {
  const rng = mulberry32(2);
  const data = new Float32Array(20000);
  const raw = new Uint32Array(data.buffer);
  for (let i = 0; i < data.length; i++) {
    // random bit patterns (all exponents) and random normals
    raw[i] = i % 2 === 0 ? Math.floor(rng() * 2 ** 32) >>> 0 : f32Bits(randn(rng, 1)[0] * 100);
  }
  const back = tensor(data, [data.length], { dtype: 'bf16' }).toFloat32Array();
  const bb = bitsOf(back);
  let bad = -1;
  for (let i = 0; i < data.length; i++) {
    const want = bf16Round(data[i]);
    if (Number.isNaN(want)) {
      if (!Number.isNaN(back[i])) {
        bad = i;
        break;
      }
      continue;
    }
    if (bb[i] !== f32Bits(want)) {
      bad = i;
      break;
    }
  }
  t.is(
    bad,
    -1,
    bad >= 0
      ? `element ${bad}: input 0x${raw[bad].toString(16)} (${data[bad]}) -> 0x${bb[bad].toString(16)}, expected ${bf16Round(data[bad])}`
      : '',
  );
  t.true(
    bb.every((u) => (u & 0xffff) === 0 || Number.isNaN(new Float32Array(new Uint32Array([u]).buffer)[0])),
    'low 16 bits are zero',
  );
});

test('ranks 1 to 4', (t) => {
  const shapes = [[5], [2, 3], [2, 3, 4], [2, 1, 3, 2]];
  for (const shape of shapes) {
    const n = numel(shape);
    const data = Float32Array.from({ length: n }, (_, i) => i - 3.5);
    for (const dtype of ['f32', 'bf16'] as const) {
      const x = tensor(data, shape, { dtype });
      t.deepEqual(x.shape, shape, `shape [${shape}] ${dtype}`);
      t.deepEqual(Array.from(x.toFloat32Array()), Array.from(data), `values [${shape}] ${dtype}`);
    }
  }
});

test('zero-size dimensions are allowed', (t) => {
  for (const shape of [[0], [0, 5], [5, 0], [3, 0, 2], [1, 1, 1, 0]]) {
    for (const dtype of ['f32', 'bf16'] as const) {
      const x = tensor(new Float32Array(0), shape, { dtype });
      t.deepEqual(x.shape, shape);
      t.is(x.dtype, dtype);
      t.is(x.toFloat32Array().length, 0);
      x.dispose();
      const y = tensor([], shape, { dtype });
      t.is(y.toFloat32Array().length, 0);
    }
  }
});

test('a Float32Array view with an offset is read from its offset', (t) => {
  const buf = Float32Array.from([100, 1, 2, 3, 4, 200]);
  const view = buf.subarray(1, 5);
  const x = tensor(view, [2, 2]);
  t.deepEqual(Array.from(x.toFloat32Array()), [1, 2, 3, 4]);
});

test('tensor copies its data; toFloat32Array returns a fresh copy', (t) => {
  const data = Float32Array.from([1, 2, 3, 4]);
  const x = tensor(data, [4]);
  data[0] = 99;
  t.deepEqual(Array.from(x.toFloat32Array()), [1, 2, 3, 4], 'mutating the source array does not change the tensor');
  const a = x.toFloat32Array();
  a[1] = 42;
  t.deepEqual(Array.from(x.toFloat32Array()), [1, 2, 3, 4], 'mutating a read-back copy does not change the tensor');
  t.not(x.toFloat32Array(), x.toFloat32Array(), 'each call returns a new array');
  const numbers = [5, 6];
  const y = tensor(numbers, [2]);
  numbers[0] = -1;
  t.deepEqual(Array.from(y.toFloat32Array()), [5, 6]);
});

test('shape is a copy: mutating it does not change the tensor', (t) => {
  const shapeIn = [2, 3];
  const x = tensor(new Float32Array(6), shapeIn);
  shapeIn[0] = 6;
  shapeIn[1] = 1;
  t.deepEqual(x.shape, [2, 3], 'mutating the shape passed to tensor()');
  const s = x.shape as number[];
  try {
    s[0] = 100;
    s.push(7);
  } catch {
    // a frozen array is fine too
  }
  t.deepEqual(x.shape, [2, 3], 'mutating the shape read from the tensor');
  // and ops still see the real shape
  const y = tensor(new Float32Array(12), [3, 4]);
  const out = ops.matmul(x, y);
  t.deepEqual(out.shape, [2, 4]);
});

test('dispose, double dispose, Symbol.dispose, and use after dispose', (t) => {
  const x = tensor([1, 2, 3, 4], [2, 2], { dtype: 'bf16' });
  t.false(x.disposed);
  x.dispose();
  t.true(x.disposed);
  t.notThrows(() => x.dispose(), 'dispose is idempotent');
  t.true(x.disposed);
  t.deepEqual(x.shape, [2, 2], 'shape readable after dispose');
  t.is(x.dtype, 'bf16', 'dtype readable after dispose');
  assertInvalidArg(t, () => x.toFloat32Array(), 'toFloat32Array', undefined, undefined, 'toFloat32Array after dispose');

  const y = tensor([1, 2], [1, 2]);
  t.is(typeof y[Symbol.dispose], 'function');
  y[Symbol.dispose]();
  t.true(y.disposed, 'Symbol.dispose disposes');
  t.notThrows(() => y[Symbol.dispose]());
  t.notThrows(() => y.dispose());

  const a = tensor([1, 2], [1, 2]);
  const b = tensor([1, 2], [2, 1]);
  a.dispose();
  assertInvalidArg(t, () => ops.matmul(a, b), 'matmul', 'a', undefined, 'disposed a');
  assertInvalidArg(t, () => ops.matmul(b, a), 'matmul', 'b', undefined, 'disposed b');
  assertInvalidArg(t, () => ops.newtonSchulz(a), 'newtonSchulz', 'x', undefined, 'disposed x');
});

test('new Tensor() directly throws', (t) => {
  t.throws(() => new (Tensor as any)(), undefined, 'new Tensor()');
  t.throws(() => new (Tensor as any)(new Float32Array(4), [4]), undefined, 'new Tensor(data, shape)');
  t.throws(() => (Tensor as any)(), undefined, 'Tensor() without new');
  t.true(tensor([1], [1]) instanceof Tensor, 'tensor() returns a Tensor');
});

test('many tensors can be created and disposed', (t) => {
  const rng = mulberry32(3);
  for (let i = 0; i < 2000; i++) {
    const x = tensor(randn(rng, 64), [8, 8], { dtype: i % 2 ? 'bf16' : 'f32' });
    if (i % 3) x.dispose();
  }
  t.pass();
});

test("device 'cuda': a tensor on the GPU when one is usable, else one Error saying why", (t) => {
  const cuda = info().cuda;
  const data = Float32Array.from({ length: 15 }, (_, i) => Math.sin(i) * 7);
  if (cuda.available) {
    const g = tensor(data, [3, 5], { device: 'cuda' });
    t.is(g.device, 'cuda');
    t.deepEqual(g.toFloat32Array(), data);
    return;
  }
  const error = t.throws(() => tensor(data, [3, 5], { device: 'cuda' }));
  t.is((error as Error & { code?: string }).code, 'ERR_MOONTRAIN_INVALID_ARGUMENT');
  t.true(error!.message.includes(cuda.reason!), error!.message);
  t.regex(error!.message, /options\.device.*expected 'cpu' \(CUDA is not usable here: .+\), got 'cuda'/);
  t.throws(() => tensor(data, [3, 5], { device: 'tpu' as never }), { message: /expected 'cpu' or 'cuda', got the string "tpu"/ });
});
