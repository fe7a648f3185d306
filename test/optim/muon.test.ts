// Muon and AdamW against the reference cases T10 / T12 (docs/testing.md) and a float64 re-implementation.
import test from 'ava';
import { nn, optim, tensor } from '../../lib';
import { g1, g2, mulberry32, newtonSchulzRef, randn } from '../helpers/ref';

const W0 = () => Float32Array.from({ length: 32 }, (_, k) => 0.01 * ((((k >> 3) + 2 * (k & 7)) % 5) - 2));

function runTwoSteps(options: Partial<ConstructorParameters<typeof optim.Muon>[1]>): Float32Array[] {
  const p = new nn.Parameter(tensor(W0(), [4, 8]), { name: 'layers.0.mlp.up_proj.weight' });
  const opt = new optim.Muon([p], { lr: 0.02, weightDecay: 0.1, momentum: 0.95, ...options });
  const out: Float32Array[] = [];
  for (const g of [g1(), g2()]) {
    p.grad = tensor(Float32Array.from(g), [4, 8]);
    opt.step();
    opt.zeroGrad();
    out.push(p.value.toFloat32Array());
  }
  opt.dispose();
  p.dispose();
  return out;
}

const sum = (a: ArrayLike<number>) => Array.from(a).reduce((x, y) => x + y, 0);
const norm = (a: ArrayLike<number>) => Math.sqrt(Array.from(a).reduce((x, y) => x + y * y, 0));

test('T10: two Moonlight Muon steps on 4x8 (Nesterov, scale 0.2·√8)', (t) => {
  const [w1, w2] = runTwoSteps({});
  t.true(Math.abs(sum(w1) - -0.0049949598) < 2e-7, `sum W1 ${sum(w1)}`);
  t.true(Math.abs(sum(w2) - -0.0112292946) < 2e-7, `sum W2 ${sum(w2)}`);
  t.true(Math.abs(norm(w2) - 0.0789621349) < 2e-7, `|W2| ${norm(w2)}`);
  [-0.01216646, 0.00585998, 0.01919619, -0.01109347].forEach((v, j) => t.true(Math.abs(w2[j] - v) < 2e-7, `W2[0][${j}] ${w2[j]} vs ${v}`));
});

test('T10: without Nesterov, and with Keller scale', (t) => {
  const [, w2] = runTwoSteps({ nesterov: false });
  t.true(Math.abs(sum(w2) - 0.0012353881) < 2e-7, `sum ${sum(w2)}`);
  t.true(Math.abs(norm(w2) - 0.0769347478) < 2e-7, `norm ${norm(w2)}`);
  const [, k2] = runTwoSteps({ scale: 'keller' });
  t.true(Math.abs(sum(k2) - -0.0045567988) < 2e-7, `keller sum ${sum(k2)}`);
  t.true(Math.abs(norm(k2) - 0.0872967882) < 2e-7, `keller norm ${norm(k2)}`);
});

test('T12: the first AdamW step is -lr·sign(g) - lr·wd·w (AdamW and Muon\'s internal AdamW)', (t) => {
  const rng = mulberry32(5);
  const w = randn(rng, 9), g = randn(rng, 9);
  for (const make of [
    (p: nn.Parameter) => new optim.AdamW([p], { lr: 0.01, weightDecay: 0.1 }),
    (p: nn.Parameter) => new optim.Muon([p], { lr: 0.01, weightDecay: 0.1 }),
  ]) {
    const p = new nn.Parameter(tensor(w, [9]), { name: 'model.norm.weight', kind: 'norm' });
    const opt = make(p);
    p.grad = tensor(g, [9]);
    opt.step();
    const got = p.value.toFloat32Array();
    for (let i = 0; i < 9; ++i) {
      // torch order: decay first, then the Adam step.
      const want = w[i] * (1 - 0.01 * 0.1) - 0.01 * Math.sign(g[i]);
      t.true(Math.abs(got[i] - want) < 1e-6, `${i}: ${got[i]} vs ${want}`);
    }
    t.deepEqual(opt.routing().map((r) => r.optimizer), ['adamw']);
    opt.dispose();
    p.dispose();
  }
});

// float64 Moonlight Muon for one matrix
function muonRef(w: Float64Array, grads: Float64Array[], rows: number, cols: number, lr: number, wd: number, mu: number): Float64Array {
  const m = new Float64Array(w.length);
  const scale = 0.2 * Math.sqrt(Math.max(rows, cols));
  for (const g of grads) {
    for (let i = 0; i < m.length; ++i) m[i] = mu * m[i] + g[i];
    const u = g.map((v, i) => v + mu * m[i]);
    const o = newtonSchulzRef(u, rows, cols);
    for (let i = 0; i < w.length; ++i) w[i] = w[i] * (1 - lr * wd) - lr * scale * o[i];
  }
  return w;
}

test('Muon, several steps on tall, wide and square f32 matrices, against float64', (t) => {
  const rng = mulberry32(11);
  for (const [rows, cols] of [[33, 7], [7, 33], [24, 24], [1, 9]]) {
    const n = rows * cols;
    const w0 = randn(rng, n, 0.1);
    const grads = [0, 1, 2, 3].map(() => Float64Array.from(randn(rng, n)));
    const p = new nn.Parameter(tensor(w0, [rows, cols]), { name: 'w' });
    const opt = new optim.Muon([p], { lr: 0.01, weightDecay: 0.1, momentum: 0.9 });
    for (const g of grads) {
      p.grad = tensor(Float32Array.from(g), [rows, cols]);
      opt.step();
      opt.zeroGrad();
    }
    const want = muonRef(Float64Array.from(w0), grads, rows, cols, 0.01, 0.1, 0.9);
    const got = p.value.toFloat32Array();
    let err = 0, ref = 0;
    for (let i = 0; i < n; ++i) {
      err += (got[i] - want[i]) ** 2;
      ref += want[i] ** 2;
    }
    t.true(Math.sqrt(err / ref) < 2e-5, `${rows}x${cols}: rel err ${Math.sqrt(err / ref)}`);
    opt.dispose();
    p.dispose();
  }
});

test('Muon on an expert stack orthogonalises each expert separately (one batched call)', (t) => {
  const rng = mulberry32(3);
  const E = 3, rows = 6, cols = 10, n = rows * cols;
  const w0 = randn(rng, E * n, 0.1), g = randn(rng, E * n);
  const stack = new nn.Parameter(tensor(w0, [E, rows, cols]), { name: 'model.layers.1.mlp.experts.up_proj.weight', kind: 'experts' });
  const opt = new optim.Muon([stack], { lr: 0.01 });
  stack.grad = tensor(g, [E, rows, cols]);
  opt.step();
  const got = stack.value.toFloat32Array();
  for (let e = 0; e < E; ++e) {
    const want = muonRef(Float64Array.from(w0.subarray(e * n, (e + 1) * n)), [Float64Array.from(g.subarray(e * n, (e + 1) * n))], rows, cols, 0.01, 0.1, 0.95);
    for (let i = 0; i < n; ++i) t.true(Math.abs(got[e * n + i] - want[i]) < 1e-5, `expert ${e} [${i}]`);
  }
  t.is(opt.routing()[0].optimizer, 'muon');
  t.true(Math.abs(opt.routing()[0].scale! - 0.2 * Math.sqrt(10)) < 1e-12);
  opt.dispose();
  stack.dispose();
});

test('bf16 parameters keep fp32 master weights; state round-trips through stateDict', (t) => {
  const rng = mulberry32(8);
  const w0 = randn(rng, 64, 0.1);
  const make = () => new nn.Parameter(tensor(w0, [8, 8], { dtype: 'bf16' }), { name: 'w' });
  const a = make(), b = make();
  const oa = new optim.Muon([a], { lr: 0.01 }), ob = new optim.Muon([b], { lr: 0.01 });
  const grads = [0, 1, 2].map(() => randn(rng, 64));
  a.grad = tensor(grads[0], [8, 8], { dtype: 'bf16' });
  oa.step();
  ob.loadStateDict(oa.stateDict());
  ob.loadStateDict(oa.stateDict());
  b.set(tensor(a.value.toFloat32Array(), [8, 8], { dtype: 'bf16' }));
  for (const g of grads.slice(1)) {
    a.grad = tensor(g, [8, 8], { dtype: 'bf16' });
    b.grad = tensor(g, [8, 8], { dtype: 'bf16' });
    oa.step();
    ob.step();
  }
  t.deepEqual(a.value.toFloat32Array(), b.value.toFloat32Array());
  t.is(a.value.dtype, 'bf16');
  t.is(oa.stepCount, 3);
  t.is(ob.stepCount, 3);
});

test('schedules and clipping', (t) => {
  const o = { lr: 1, warmup: 10, total: 110, minRatio: 0.1 };
  t.is(optim.cosineLr(0, o), 0.1);
  t.is(optim.cosineLr(9, o), 1);
  t.true(Math.abs(optim.cosineLr(60, o) - 0.55) < 1e-12);
  t.true(Math.abs(optim.cosineLr(110, o) - 0.1) < 1e-12);
  const w = { lr: 1, warmup: 10, total: 100, decayFraction: 0.2, minRatio: 0 };
  t.is(optim.wsdLr(50, w), 1);
  t.true(Math.abs(optim.wsdLr(90, w) - 0.5) < 1e-12);
  const p = new nn.Parameter(tensor([3, 4], [2]), { name: 'b', kind: 'bias' });
  p.grad = tensor([3, 4], [2]);
  t.is(optim.clipGradNorm([p], 1), 5);
  const g = p.grad.toFloat32Array();
  t.true(Math.abs(Math.hypot(g[0], g[1]) - 1) < 1e-5);
});

test('bad optimizer options throw clear errors', (t) => {
  const p = new nn.Parameter(tensor([1, 2], [1, 2]), { name: 'w' });
  t.throws(() => new optim.Muon([p], { lr: -1 }), { message: /Muon: option 'lr'/ });
  t.throws(() => new optim.Muon([p], { lr: 0.1, scale: 'x' as never }), { message: /option 'scale'/ });
  t.throws(() => new optim.AdamW([p], { lr: 0.1, betas: [1.5, 0.9] }), { message: /AdamW: option 'betas\[0\]'/ });
  t.throws(() => new optim.AdamW([p], { lr: NaN }), { message: /AdamW: option 'lr'/ });
});
