// ops.rmsNorm / ops.rmsNormBackward against float64 references and finite differences.
import test from 'ava';
import { ops, debug } from '../../lib';
import { mulberry32, randn } from '../helpers/ref';
import { assertClose, assertMeta, DTYPES, randTensor, read } from '../helpers/util';
import { devicesFor, onDevice } from '../helpers/devices';
import { FD_TOL, finiteDiffGrad, lossOf, NN_TOL, rmsNormBackwardRef, rmsNormRef } from '../helpers/nn-ref';

debug.poisonAllocations(true);

const SIZES = [1, 7, 33];
const DIMS = [1, 7, 65];

for (const device of devicesFor(['rmsNorm', 'rmsNormBackward'])) for (const dtype of DTYPES) {
  test(`rmsNorm ${dtype}: y and rstd for T in {1,7,33}, D in {1,7,65}${onDevice(device)}`, (t) => {
    let seed = dtype === 'f32' ? 10 : 20;
    for (const T of SIZES) {
      for (const D of DIMS) {
        for (const eps of [1e-6, 0.1]) {
          const rng = mulberry32(seed++);
          const x = randTensor(rng, [T, D], dtype, 2, device);
          const w = randTensor(rng, [D], dtype, 1, device);
          const label = `rmsNorm ${dtype} T=${T} D=${D} eps=${eps}`;
          const { y, rstd } = ops.rmsNorm(x.t, w.t, { eps });
          assertMeta(t, y, [T, D], dtype, label, device);
          assertMeta(t, rstd, [T], 'f32', `${label} rstd`, device);
          const ref = rmsNormRef(x.v, w.v, T, D, eps);
          assertClose(t, read(y), ref.y, NN_TOL[dtype], `${label} y`);
          assertClose(t, read(rstd), ref.rstd, 1e-6, `${label} rstd`);
          for (const o of [x.t, w.t, y, rstd]) o.dispose();
        }
      }
    }
  });

  test(`rmsNormBackward ${dtype}: dx and dweight against the float64 backward${onDevice(device)}`, (t) => {
    let seed = dtype === 'f32' ? 30 : 40;
    for (const T of SIZES) {
      for (const D of DIMS) {
        const rng = mulberry32(seed++);
        const x = randTensor(rng, [T, D], dtype, 1, device);
        const w = randTensor(rng, [D], dtype, 1, device);
        const dy = randTensor(rng, [T, D], dtype, 1, device);
        const eps = 1e-5;
        const { y, rstd } = ops.rmsNorm(x.t, w.t, { eps });
        const { dx, dweight } = ops.rmsNormBackward(dy.t, x.t, w.t, rstd);
        const label = `rmsNormBackward ${dtype} T=${T} D=${D}`;
        assertMeta(t, dx, [T, D], dtype, label, device);
        assertMeta(t, dweight, [D], dtype, label, device);
        // the reference takes the forward's f32 rstd too (for D = 1 the two terms of dx nearly
        // cancel, so the rounding of rstd alone moves dx by ~1e-2 relative)
        const ref = rmsNormBackwardRef(dy.v, x.v, w.v, T, D, eps, read(rstd));
        assertClose(t, read(dx), ref.dx, NN_TOL[dtype], `${label} dx`);
        assertClose(t, read(dweight), ref.dw, NN_TOL[dtype], `${label} dweight`);
        for (const o of [x.t, w.t, dy.t, y, rstd, dx, dweight]) o.dispose();
      }
    }
  });
}

test('rmsNormBackward: the analytic reference matches finite differences (x and weight)', (t) => {
  for (const [T, D, seed] of [
    [1, 1, 1],
    [3, 5, 2],
    [4, 7, 3],
  ]) {
    const rng = mulberry32(seed);
    const eps = 1e-3;
    const x = Float64Array.from(randn(rng, T * D));
    const w = Float64Array.from(randn(rng, D));
    const dy = Float64Array.from(randn(rng, T * D));
    const ref = rmsNormBackwardRef(dy, x, w, T, D, eps);
    const fdx = finiteDiffGrad(lossOf(dy, (xx) => rmsNormRef(xx, w, T, D, eps).y), x);
    const fdw = finiteDiffGrad(lossOf(dy, (ww) => rmsNormRef(x, ww, T, D, eps).y), w);
    assertClose(t, ref.dx, fdx, FD_TOL, `dx T=${T} D=${D}`);
    assertClose(t, ref.dw, fdw, FD_TOL, `dweight T=${T} D=${D}`);
  }
});

for (const device of devicesFor(['rmsNorm'])) test(`rmsNorm: eps defaults to 1e-6${onDevice(device)}`, (t) => {
  const rng = mulberry32(7);
  const x = randTensor(rng, [3, 4], 'f32', 1e-3, device);
  const w = randTensor(rng, [4], 'f32', 1, device);
  const a = ops.rmsNorm(x.t, w.t);
  const b = ops.rmsNorm(x.t, w.t, { eps: 1e-6 });
  t.deepEqual(Array.from(read(a.y)), Array.from(read(b.y)));
  t.deepEqual(Array.from(read(a.rstd)), Array.from(read(b.rstd)));
});
