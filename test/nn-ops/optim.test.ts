// In-place optimizer updates (AdamW, Muon momentum and apply) against float64 formulas.
import test from 'ava';
import { ops, debug, tensor } from '../../lib';
import { mulberry32, randn } from '../helpers/ref';
import { assertClose, DTYPES, randTensor, read } from '../helpers/util';
import { devicesFor, onDevice } from '../helpers/devices';
import { adamwRef, muonApplyRef, muonMomentumRef, NN_TOL } from '../helpers/nn-ref';
import { numel } from '../../lib/shape';

debug.poisonAllocations(true);

for (const device of devicesFor(['adamwStep', 'muonMomentum', 'muonApply', 'scaleInPlace'])) for (const gradDtype of DTYPES) {
  test(`adamwStep: 3 steps in place against torch.optim.AdamW's formulas (grad ${gradDtype})${onDevice(device)}`, (t) => {
    for (const [shape, seed] of [
      [[1], 1],
      [[7, 65], 2],
      [[3, 33, 7], 3],
      [device === 'cpu' ? [200, 300] : [70, 301], 4],
    ] as [number[], number][]) {
      const rng = mulberry32(1300 + seed);
      const n = numel(shape);
      const p0 = randn(rng, n);
      const param = tensor(p0, shape, { device });
      const m = tensor(new Float32Array(n), shape, { device });
      const v = tensor(new Float32Array(n), shape, { device });
      const P = Float64Array.from(p0);
      const M = new Float64Array(n);
      const V = new Float64Array(n);
      const o = { lr: 1e-2, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 };
      for (let step = 1; step <= 3; step++) {
        const g = randTensor(rng, shape, gradDtype, 1, device);
        t.is(ops.adamwStep(param, g.t, m, v, { ...o, step }), undefined);
        adamwRef(P, g.v, M, V, { ...o, step });
        g.t.dispose();
      }
      const label = `adamw ${JSON.stringify(shape)} grad ${gradDtype}`;
      assertClose(t, read(param), P, NN_TOL.f32, `${label} param`);
      assertClose(t, read(m), M, NN_TOL.f32, `${label} m`);
      assertClose(t, read(v), V, NN_TOL.f32, `${label} v`);
    }
  });

  test(`muonMomentum and muonApply: 3 steps against float64 (grad/update ${gradDtype})${onDevice(device)}`, (t) => {
    for (const nesterov of [true, false]) {
      const rng = mulberry32(nesterov ? 1400 : 1401);
      const shape = [33, 65];
      const n = 33 * 65;
      const p0 = randn(rng, n);
      const param = tensor(p0, shape, { device });
      const m = tensor(new Float32Array(n), shape, { device });
      const P = Float64Array.from(p0);
      const M = new Float64Array(n);
      for (let step = 1; step <= 3; step++) {
        const g = randTensor(rng, shape, gradDtype, 1, device);
        const u = ops.muonMomentum(m, g.t, { momentum: 0.95, nesterov });
        const U = muonMomentumRef(M, g.v, 0.95, nesterov);
        t.is(u.dtype, 'f32');
        t.deepEqual(u.shape, shape);
        t.is(u.device, device);
        assertClose(t, read(u), U, NN_TOL.f32, `U step ${step} nesterov=${nesterov}`);
        assertClose(t, read(m), M, NN_TOL.f32, `m step ${step} nesterov=${nesterov}`);
        // U never aliases m
        const before = read(m);
        ops.scaleInPlace(u, 0);
        t.deepEqual(Array.from(read(m)), Array.from(before), 'U is a separate buffer');
        // apply (an update in the gradient's dtype, as Newton-Schulz returns it)
        const upd = randTensor(rng, shape, gradDtype, 1, device);
        t.is(ops.muonApply(param, upd.t, { lr: 0.02, weightDecay: 0.1, scale: 0.2 * Math.sqrt(65) }), undefined);
        muonApplyRef(P, upd.v, 0.02, 0.1, 0.2 * Math.sqrt(65));
        assertClose(t, read(param), P, NN_TOL.f32, `param step ${step} nesterov=${nesterov}`);
      }
    }
  });
}

for (const device of devicesFor(['adamwStep', 'muonMomentum', 'muonApply'])) test(`muon and adamw defaults${onDevice(device)}`, (t) => {
  const rng = mulberry32(1500);
  const g = randTensor(rng, [5, 4], 'f32', 1, device);
  const m = tensor(new Float32Array(20).fill(1), [5, 4], { device });
  const u = read(ops.muonMomentum(m, g.t)); // momentum 0.95, nesterov
  const M = new Float64Array(20).fill(1);
  assertClose(t, u, muonMomentumRef(M, g.v, 0.95, true), 1e-6, 'muonMomentum defaults');
  const p = tensor(new Float32Array(20).fill(1), [5, 4], { device });
  ops.muonApply(p, g.t, { lr: 0.1 }); // weightDecay 0, scale 1
  assertClose(t, read(p), g.v.map((x) => 1 - 0.1 * x), 1e-6, 'muonApply defaults');
  const pa = tensor(new Float32Array(20).fill(1), [5, 4], { device });
  const ma = tensor(new Float32Array(20), [5, 4], { device });
  const va = tensor(new Float32Array(20), [5, 4], { device });
  ops.adamwStep(pa, g.t, ma, va, { lr: 0.01, step: 1 });
  const P = new Float64Array(20).fill(1);
  adamwRef(P, g.v, new Float64Array(20), new Float64Array(20), { lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, step: 1 });
  assertClose(t, read(pa), P, 1e-6, 'adamwStep defaults (torch)');
});
