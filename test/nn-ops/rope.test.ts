// ops.rope against a float64 reference; inverse = backward checked by finite differences.
import test from 'ava';
import { ops, debug, tensor } from '../../lib';
import { mulberry32, randInt, randn } from '../helpers/ref';
import { assertClose, assertMeta, DTYPES, randTensor, read } from '../helpers/util';
import { devicesFor, onDevice } from '../helpers/devices';
import { FD_TOL, finiteDiffGrad, lossOf, NN_TOL, ropeRef } from '../helpers/nn-ref';

debug.poisonAllocations(true);

const positions = (rng: () => number, T: number, max = 4096) => Int32Array.from({ length: T }, () => randInt(rng, 0, max));

for (const device of devicesFor(['rope'])) for (const dtype of DTYPES) {
  test(`rope ${dtype}: interleaved and rotate-half, T in {1,7,33}, H in {1,3}, d in {2,8,64}${onDevice(device)}`, (t) => {
    let seed = dtype === 'f32' ? 70 : 80;
    for (const interleave of [true, false]) {
      for (const T of [1, 7, 33]) {
        for (const H of [1, 3]) {
          for (const d of [2, 8, 64]) {
            for (const theta of [10000, 50000]) {
              const rng = mulberry32(seed++);
              const x = randTensor(rng, [T, H, d], dtype, 1, device);
              const pos = positions(rng, T);
              const label = `rope ${dtype} interleave=${interleave} T=${T} H=${H} d=${d} theta=${theta}`;
              for (const inverse of [false, true]) {
                const y = ops.rope(x.t, pos, { theta, interleave, inverse });
                assertMeta(t, y, [T, H, d], dtype, label, device);
                assertClose(t, read(y), ropeRef(x.v, T, H, d, pos, { theta, interleave, inverse }), NN_TOL[dtype], `${label} inverse=${inverse}`);
                y.dispose();
              }
              x.t.dispose();
            }
          }
        }
      }
    }
  });
}

for (const device of devicesFor(['rope'])) test(`rope with ropeDim < d: the first d - ropeDim copied, the rest rotated as a rope of its own${onDevice(device)}`, (t) => {
  let seed = 90;
  for (const dtype of DTYPES)
    for (const interleave of [true, false])
      for (const [T, H, dn, dr] of [[7, 3, 48, 16], [33, 1, 1, 2], [1, 2, 5, 8]]) {
        const rng = mulberry32(seed++);
        const d = dn + dr;
        const x = randTensor(rng, [T, H, d], dtype, 1, device);
        const pos = positions(rng, T);
        const label = `rope ${dtype} interleave=${interleave} T=${T} H=${H} d=${d} ropeDim=${dr}`;
        const rotPart = new Float64Array(T * H * dr);
        for (let r = 0; r < T * H; r++) for (let j = 0; j < dr; j++) rotPart[r * dr + j] = x.v[r * d + dn + j];
        for (const inverse of [false, true]) {
          const y = ops.rope(x.t, pos, { theta: 10000, interleave, inverse, ropeDim: dr });
          assertMeta(t, y, [T, H, d], dtype, label, device);
          const rotated = ropeRef(rotPart, T, H, dr, pos, { theta: 10000, interleave, inverse });
          const want = Float64Array.from(x.v);
          for (let r = 0; r < T * H; r++) for (let j = 0; j < dr; j++) want[r * d + dn + j] = rotated[r * dr + j];
          assertClose(t, read(y), want, NN_TOL[dtype], `${label} inverse=${inverse}`);
          y.dispose();
        }
        x.t.dispose();
      }
});

for (const device of devicesFor(['rope'])) test(`rope: pairs are (2i, 2i+1) when interleaved and (i, i+d/2) otherwise${onDevice(device)}`, (t) => {
  const x = tensor([1, 0, 0, 0], [1, 1, 4], { device });
  const pos = Int32Array.from([1]);
  const a = read(ops.rope(x, pos, { theta: 10000, interleave: true }));
  t.true(Math.abs(a[0] - Math.cos(1)) < 1e-7 && Math.abs(a[1] - Math.sin(1)) < 1e-7 && a[2] === 0 && a[3] === 0, `interleaved: ${a}`);
  const b = read(ops.rope(x, pos, { theta: 10000, interleave: false }));
  t.true(Math.abs(b[0] - Math.cos(1)) < 1e-7 && b[1] === 0 && Math.abs(b[2] - Math.sin(1)) < 1e-7 && b[3] === 0, `rotate-half: ${b}`);
  // position 0 is the identity; defaults: theta 10000, interleave true, ropeDim = d
  const rng = mulberry32(3);
  const y = randTensor(rng, [2, 3, 6], 'f32', 1, device);
  t.deepEqual(Array.from(read(ops.rope(y.t, Int32Array.from([0, 0])))), Array.from(y.v));
  t.deepEqual(Array.from(read(ops.rope(y.t, Int32Array.from([5, 9]), { ropeDim: 6 }))), Array.from(read(ops.rope(y.t, Int32Array.from([5, 9]), { theta: 10000, interleave: true }))));
});

for (const device of devicesFor(['rope'])) test(`rope: inverse undoes the rotation${onDevice(device)}`, (t) => {
  const rng = mulberry32(4);
  const x = randTensor(rng, [9, 3, 16], 'f32', 1, device);
  const pos = positions(rng, 9, 100000);
  for (const interleave of [true, false]) {
    const y = ops.rope(x.t, pos, { theta: 10000, interleave });
    const back = ops.rope(y, pos, { theta: 10000, interleave, inverse: true });
    assertClose(t, read(back), x.v, 1e-6, `round trip interleave=${interleave}`);
  }
});

for (const device of devicesFor(['rope'])) test(`rope backward (inverse rotation) matches finite differences of the forward${onDevice(device)}`, (t) => {
  const rng = mulberry32(5);
  const T = 4;
  const H = 2;
  const d = 6;
  const pos = positions(rng, T, 50);
  for (const interleave of [true, false]) {
    const x = Float64Array.from(randn(rng, T * H * d));
    const dy = Float64Array.from(randn(rng, T * H * d));
    const o = { theta: 500, interleave };
    const analytic = ropeRef(dy, T, H, d, pos, { ...o, inverse: true });
    const fd = finiteDiffGrad(lossOf(dy, (xx) => ropeRef(xx, T, H, d, pos, o)), x);
    assertClose(t, analytic, fd, FD_TOL, `interleave=${interleave}: reference backward vs finite differences`);
    const dyT = tensor(Float32Array.from(dy), [T, H, d], { device });
    assertClose(t, read(ops.rope(dyT, pos, { ...o, inverse: true })), ropeRef(read(dyT), T, H, d, pos, { ...o, inverse: true }), NN_TOL.f32, `interleave=${interleave}: native backward`);
  }
});
