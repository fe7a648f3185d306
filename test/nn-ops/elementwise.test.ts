// Elementwise ops, conversions, sumSquares and last-dimension split / concat.
import test from 'ava';
import { ops, debug, tensor } from '../../lib';
import { bf16Round, mulberry32 } from '../helpers/ref';
import { assertClose, assertMeta, DTYPES, randTensor, read } from '../helpers/util';
import { NN_TOL } from '../helpers/nn-ref';
import { devicesFor, onDevice } from '../helpers/devices';

debug.poisonAllocations(true);

const SHAPES = [[1], [7], [33, 7], [7, 65], [2, 3, 5], [2, 3, 4, 5], [200, 129]];

for (const device of devicesFor(['add', 'scale', 'scaleInPlace', 'sumSquares', 'split', 'concat'])) for (const dtype of DTYPES) {
  test(`add, scale, scaleInPlace ${dtype}${onDevice(device)}`, (t) => {
    let seed = dtype === 'f32' ? 900 : 950;
    for (const shape of SHAPES) {
      const rng = mulberry32(seed++);
      const a = randTensor(rng, shape, dtype, 1, device);
      const b = randTensor(rng, shape, dtype, 1, device);
      const label = `${dtype} ${JSON.stringify(shape)}`;
      for (const alpha of [undefined, 1, -0.5, 3]) {
        const y = alpha === undefined ? ops.add(a.t, b.t) : ops.add(a.t, b.t, { alpha });
        assertMeta(t, y, shape, dtype, label, device);
        assertClose(t, read(y), a.v.map((x, i) => x + (alpha ?? 1) * b.v[i]), NN_TOL[dtype], `add ${label} alpha=${alpha}`);
        y.dispose();
      }
      const s = ops.scale(a.t, -1.75);
      assertMeta(t, s, shape, dtype, label, device);
      assertClose(t, read(s), a.v.map((x) => -1.75 * x), NN_TOL[dtype], `scale ${label}`);
      t.deepEqual(Array.from(read(a.t)), Array.from(a.v), `scale ${label}: input unchanged`);
      t.is(ops.scaleInPlace(a.t, 0.5), undefined);
      assertClose(t, read(a.t), a.v.map((x) => 0.5 * x), NN_TOL[dtype], `scaleInPlace ${label}`);
      for (const o of [a.t, b.t, s]) o.dispose();
    }
  });

  test(`sumSquares ${dtype}: double accumulation${onDevice(device)}`, (t) => {
    let seed = dtype === 'f32' ? 1000 : 1050;
    // Rows longer than the 16384-element blocks the sum is cut into, with a partial last block.
    for (const shape of [...SHAPES, [2, 16385], [50001]]) {
      const rng = mulberry32(seed++);
      const a = randTensor(rng, shape, dtype, 1, device);
      const ref = a.v.reduce((p, x) => p + x * x, 0);
      const got = ops.sumSquares(a.t);
      t.true(Math.abs(got - ref) <= 1e-12 * ref, `sumSquares ${dtype} ${JSON.stringify(shape)}: ${got} vs ${ref}`);
    }
  });

  test(`split and concat ${dtype}: along the last dimension, ranks 1 to 4${onDevice(device)}`, (t) => {
    const rng = mulberry32(dtype === 'f32' ? 1100 : 1150);
    for (const [shape, sizes] of [
      [[7], [3, 4]],
      [[33, 7], [2, 0, 5]],
      [[3, 7, 192], [128, 64]],
      [[2, 3, 4, 9], [1, 1, 7]],
      [[5, 1], [1]],
    ] as [number[], number[]][]) {
      const x = randTensor(rng, shape, dtype, 1, device);
      const parts = ops.split(x.t, sizes);
      t.is(parts.length, sizes.length);
      const last = shape[shape.length - 1];
      const rows = x.v.length / last;
      let c0 = 0;
      parts.forEach((p, i) => {
        const s = [...shape.slice(0, -1), sizes[i]];
        assertMeta(t, p, s, dtype, `split ${JSON.stringify(shape)} part ${i}`, device);
        const want: number[] = [];
        for (let r = 0; r < rows; r++) for (let j = 0; j < sizes[i]; j++) want.push(x.v[r * last + c0 + j]);
        t.deepEqual(Array.from(read(p)), want, `split part ${i}`);
        c0 += sizes[i];
      });
      const back = ops.concat(parts);
      assertMeta(t, back, shape, dtype, 'concat', device);
      t.deepEqual(Array.from(read(back)), Array.from(x.v), `concat(split(x)) = x for ${JSON.stringify(shape)}`);
    }
    // concat of differently sized pieces (MLA: q_nope ++ q_rope)
    const a = randTensor(rng, [4, 2, 3], dtype, 1, device);
    const b = randTensor(rng, [4, 2, 5], dtype, 1, device);
    const c = read(ops.concat([a.t, b.t]));
    t.deepEqual(Array.from(c.slice(0, 8)), [...a.v.slice(0, 3), ...b.v.slice(0, 5)]);
  });
}

for (const device of devicesFor(['copy', 'assign', 'scaleInPlace'])) test(`copy converts dtypes (f32 -> bf16 rounds to nearest even) and assign writes in place${onDevice(device)}`, (t) => {
  const rng = mulberry32(1200);
  const x = randTensor(rng, [7, 65], 'f32', 1, device);
  const h = ops.copy(x.t, { dtype: 'bf16' });
  assertMeta(t, h, [7, 65], 'bf16', 'copy to bf16', device);
  t.deepEqual(Array.from(read(h)), Array.from(x.v, bf16Round));
  const f = ops.copy(h, { dtype: 'f32' });
  assertMeta(t, f, [7, 65], 'f32', 'copy to f32', device);
  t.deepEqual(Array.from(read(f)), Array.from(read(h)), 'bf16 -> f32 is exact');
  const same = ops.copy(x.t);
  assertMeta(t, same, [7, 65], 'f32', 'copy keeps the dtype', device);
  t.deepEqual(Array.from(read(same)), Array.from(x.v));
  ops.scaleInPlace(same, 2);
  t.deepEqual(Array.from(read(x.t)), Array.from(x.v), 'a copy is a separate buffer');
  // assign: bf16 destination from an f32 source rounds; f32 from bf16 is exact
  const dst = tensor(new Float32Array(7 * 65), [7, 65], { dtype: 'bf16', device });
  t.is(ops.assign(dst, x.t), undefined);
  t.deepEqual(Array.from(read(dst)), Array.from(x.v, bf16Round));
  const dst32 = tensor(new Float32Array(7 * 65), [7, 65], { device });
  ops.assign(dst32, dst);
  t.deepEqual(Array.from(read(dst32)), Array.from(x.v, bf16Round));
  ops.assign(dst32, x.t);
  t.deepEqual(Array.from(read(dst32)), Array.from(x.v));
});
