// Raw bytes in and out (toBytes / tensorFromBytes), t.to(device), and split / concat along any axis.
import test from 'ava';
import { debug, info, ops, tensor, tensorFromBytes, Tensor } from '../lib';
import { mulberry32 } from './helpers/ref';
import { assertInvalidArg, randTensor } from './helpers/util';

debug.poisonAllocations(true);

test('toBytes and tensorFromBytes round trip f32, bf16 and i32 bit for bit', (t) => {
  const rng = mulberry32(7);
  for (const dtype of ['f32', 'bf16'] as const) {
    const x = randTensor(rng, [3, 5, 7], dtype).t;
    const bytes = x.toBytes();
    t.is(bytes.length, 105 * (dtype === 'f32' ? 4 : 2));
    const y = tensorFromBytes(bytes, [3, 5, 7], dtype);
    t.deepEqual(y.toBytes(), bytes);
    t.deepEqual(y.toFloat32Array(), x.toFloat32Array());
    // the bytes are the elements as stored: bf16 is the upper half of the f32 bits
    const f = x.toFloat32Array();
    if (dtype === 'bf16') t.deepEqual(new Uint16Array(bytes.buffer, bytes.byteOffset, 105), Uint16Array.from(new Uint32Array(f.buffer), (u) => u >>> 16));
    else t.deepEqual(new Float32Array(bytes.buffer, bytes.byteOffset, 105), f);
  }
  const special = Uint16Array.from([0x7fc1, 0xff80, 0x0001, 0x8000]); // a NaN payload, -inf, a subnormal, -0
  const b = tensorFromBytes(special, [4], 'bf16');
  t.deepEqual(new Uint16Array(b.toBytes().buffer), special);
  const ids = Int32Array.from([3, -7, 2147483647]);
  t.deepEqual(tensorFromBytes(ids, [3], 'i32').toInt32Array(), ids);
  t.deepEqual(tensorFromBytes(ids.buffer, [3], 'i32').toInt32Array(), ids);
});

test('tensorFromBytes refuses a wrong length, dtype or data by name', (t) => {
  assertInvalidArg(t, () => tensorFromBytes(new Uint8Array(7), [2], 'f32'), 'tensorFromBytes', 'bytes', /expected 8 bytes \(\[2\] f32\), got 7 bytes/);
  assertInvalidArg(t, () => tensorFromBytes(new Uint8Array(8), [2], 'f64' as never), 'tensorFromBytes', 'dtype', /'f32', 'bf16' or 'i32'/);
  assertInvalidArg(t, () => tensorFromBytes([1, 2] as never, [2], 'f32'), 'tensorFromBytes', 'bytes', /typed array/);
});

test("t.to('cpu') shares the memory; t.to('cuda') moves it when a GPU is usable, else says why", (t) => {
  const x = tensor([1, 2, 3], [3], { dtype: 'bf16' });
  const y = x.to('cpu');
  t.is(y.device, 'cpu');
  t.deepEqual(y.toFloat32Array(), x.toFloat32Array());
  const cuda = info().cuda;
  if (cuda.available) {
    const g = x.to('cuda');
    t.is(g.device, 'cuda');
    t.deepEqual(g.to('cpu').toBytes(), x.toBytes());
  } else {
    assertInvalidArg(t, () => x.to('cuda'), 'to', 'device', /CUDA is not usable here/);
  }
  assertInvalidArg(t, () => x.to('tpu' as never), 'to', 'device', /'cpu' or 'cuda'/);
});

/** The reference split of a row-major array along axis. */
function splitRef(v: Float32Array, shape: number[], sizes: number[], axis: number): Float32Array[] {
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const outer = shape.slice(0, axis).reduce((a, b) => a * b, 1);
  let start = 0;
  return sizes.map((s) => {
    const out = new Float32Array(outer * s * inner);
    for (let o = 0; o < outer; o++)
      for (let i = 0; i < s * inner; i++) out[o * s * inner + i] = v[(o * shape[axis] + start) * inner + i];
    start += s;
    return out;
  });
}

test('split and concat along every axis, ranks 1 to 4, match the reference bitwise and invert each other', (t) => {
  const rng = mulberry32(11);
  for (const shape of [[7], [3, 5], [2, 3, 5], [2, 3, 1, 4]]) {
    for (let axis = 0; axis < shape.length; axis++) {
      for (const dtype of ['f32', 'bf16'] as const) {
        const x = randTensor(rng, shape, dtype);
        const n = shape[axis];
        const sizes = n === 1 ? [1] : [1, n - 2, 1].filter((s) => s >= 0);
        const label = `${dtype} ${JSON.stringify(shape)} axis ${axis}`;
        for (const a of [axis, axis - shape.length]) {
          const parts = ops.split(x.t, sizes, { axis: a });
          const ref = splitRef(x.t.toFloat32Array(), shape, sizes, axis);
          parts.forEach((p, i) => {
            t.deepEqual(p.shape, shape.map((d, k) => (k === axis ? sizes[i] : d)), label);
            t.deepEqual(p.toFloat32Array(), ref[i], `${label} part ${i}`);
          });
          const back = ops.concat(parts, { axis: a });
          t.deepEqual(back.toBytes(), x.t.toBytes(), `${label}: concat inverts split`);
        }
      }
    }
  }
});

test('split and concat: the default axis is the last; a bad axis or shape is an Error naming it', (t) => {
  const x = tensor(Float32Array.from({ length: 12 }, (_, i) => i), [3, 4]);
  t.deepEqual(ops.split(x, [1, 3]).map((p) => p.shape), [[3, 1], [3, 3]]);
  assertInvalidArg(t, () => ops.split(x, [1, 2], { axis: 2 }), 'split', 'options', /axis/);
  assertInvalidArg(t, () => ops.split(x, [1, 1], { axis: 0 }), 'split', 'sizes', /summing to 3/);
  const a = tensor(new Float32Array(6), [2, 3]), b = tensor(new Float32Array(8), [2, 4]);
  t.deepEqual(ops.concat([a, b], { axis: 1 }).shape, [2, 7]);
  assertInvalidArg(t, () => ops.concat([a, b], { axis: 0 }), 'concat', 'tensors', /but for dimension 0/);
  assertInvalidArg(t, () => ops.concat([a, b], { axis: -3 }), 'concat', 'options', /axis/);
  t.true(x instanceof Tensor);
});
