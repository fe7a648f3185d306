// ops.swiglu / ops.swigluBackward against float64 references and finite differences.
import test from 'ava';
import { ops, debug, tensor } from '../../lib';
import { mulberry32, randn } from '../helpers/ref';
import { assertClose, assertMeta, DTYPES, randTensor, read } from '../helpers/util';
import { devicesFor, onDevice } from '../helpers/devices';
import { FD_TOL, finiteDiffGrad, lossOf, NN_TOL, swigluBackwardRef, swigluRef } from '../helpers/nn-ref';

debug.poisonAllocations(true);

const SHAPES = [[1], [7], [7, 65], [33, 7], [3, 5, 7], [2, 3, 4, 5], [129, 130]];

for (const device of devicesFor(['swiglu', 'swigluBackward'])) for (const dtype of DTYPES) {
  test(`swiglu ${dtype}: forward and backward, ranks 1 to 4${onDevice(device)}`, (t) => {
    let seed = dtype === 'f32' ? 50 : 60;
    for (const shape of SHAPES) {
      const rng = mulberry32(seed++);
      const g = randTensor(rng, shape, dtype, 3, device);
      const u = randTensor(rng, shape, dtype, 1, device);
      const dy = randTensor(rng, shape, dtype, 1, device);
      const label = `swiglu ${dtype} ${JSON.stringify(shape)}`;
      const y = ops.swiglu(g.t, u.t);
      assertMeta(t, y, shape, dtype, label, device);
      assertClose(t, read(y), swigluRef(g.v, u.v), NN_TOL[dtype], label);
      const { dgate, dup } = ops.swigluBackward(dy.t, g.t, u.t);
      assertMeta(t, dgate, shape, dtype, label, device);
      assertMeta(t, dup, shape, dtype, label, device);
      const ref = swigluBackwardRef(dy.v, g.v, u.v);
      assertClose(t, read(dgate), ref.dgate, NN_TOL[dtype], `${label} dgate`);
      assertClose(t, read(dup), ref.dup, NN_TOL[dtype], `${label} dup`);
      for (const o of [g.t, u.t, dy.t, y, dgate, dup]) o.dispose();
    }
  });
}

for (const device of devicesFor(['swiglu', 'swigluBackward'])) for (const dtype of DTYPES) {
  test(`swiglu ${dtype}: large and non-finite gates (exp overflow and underflow, NaN)${onDevice(device)}`, (t) => {
    const gates = [30, -30, 80, -80, 90, -90, 100, -100, 1e4, -1e4, Infinity, NaN];
    const g = tensor(Float32Array.from(gates), [gates.length], { dtype, device });
    const u = tensor(new Float32Array(gates.length).fill(1.5), [gates.length], { dtype, device });
    const dy = tensor(new Float32Array(gates.length).fill(0.5), [gates.length], { dtype, device });
    const y = read(ops.swiglu(g, u));
    const { dgate, dup } = ops.swigluBackward(dy, g, u);
    const dg = read(dgate), du = read(dup);
    gates.forEach((x, i) => {
      const label = `${dtype} gate ${x}`;
      if (Number.isNaN(x)) {
        t.true(Number.isNaN(y[i]) && Number.isNaN(dg[i]) && Number.isNaN(du[i]), `${label}: NaN propagates`);
      } else if (x === Infinity) {
        t.is(y[i], Infinity, `${label}: silu(inf) * 1.5`);
        t.is(du[i], Infinity, `${label}: dup`);
      } else if (x > 0) {
        // silu(x) = x for large x; in bf16, x * 1.5 rounded
        t.true(Math.abs(y[i] - 1.5 * x) <= 1e-2 * Math.abs(1.5 * x), `${label}: y ${y[i]}`);
        t.true(Math.abs(dg[i] - 0.75) <= 1e-2, `${label}: dgate ${dg[i]}`);
      } else {
        t.true(Math.abs(y[i]) <= 1e-11, `${label}: y ${y[i]} (silu underflows to 0)`);
        t.true(Math.abs(dg[i]) <= 1e-9 && Math.abs(du[i]) <= 1e-11, `${label}: gradients ${dg[i]}, ${du[i]}`);
      }
    });
  });
}

test('swigluBackward: the analytic reference matches finite differences', (t) => {
  const rng = mulberry32(9);
  const n = 40;
  const g = Float64Array.from(randn(rng, n, 3));
  const u = Float64Array.from(randn(rng, n));
  const dy = Float64Array.from(randn(rng, n));
  const ref = swigluBackwardRef(dy, g, u);
  assertClose(t, ref.dgate, finiteDiffGrad(lossOf(dy, (x) => swigluRef(x, u)), g), FD_TOL, 'dgate');
  assertClose(t, ref.dup, finiteDiffGrad(lossOf(dy, (x) => swigluRef(g, x)), u), FD_TOL, 'dup');
});
