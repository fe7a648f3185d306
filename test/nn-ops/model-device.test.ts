// The model and its optimizers on the GPU: training steps with every weight, activation, gradient
// and optimizer state on 'cuda' give the CPU backend's losses, gradients and weights (f32, within
// the kernels' rounding), and the MoE loads and router biases follow. On this machine 'cuda' is the
// emulated backend (scripts/ci/test-cuda-emu.js); on a GPU host, the GPU.
import test from 'ava';
import { info, ops, optim } from '../../lib';
import { MoonlightModel } from '../../lib/nn/model';
import { microConfig } from '../helpers/micro-run';
import { TEST_DEVICES } from '../helpers/devices';
import { read } from '../helpers/util';

const everyOp = info().ops.map((op) => op.name);
const B = 2, S = 12;
const ids = Int32Array.from({ length: B * S }, (_, i) => (i * 37 + 11) % microConfig.vocab_size);
const targets = Int32Array.from({ length: B * S }, (_, i) => (i % 7 === 3 ? -1 : (i * 53 + 5) % microConfig.vocab_size));

function maxRelative(a: Float64Array, b: Float64Array): number {
  let num = 0, den = 0;
  for (let i = 0; i < a.length; ++i) {
    num = Math.max(num, Math.abs(a[i] - b[i]));
    den = Math.max(den, Math.abs(b[i]));
  }
  return num / Math.max(den, 1e-30);
}

function maxAbsolute(a: Float64Array, b: Float64Array): number {
  let m = 0;
  for (let i = 0; i < a.length; ++i) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

// The GPU test devices whose backend has every op of the op list (the model uses nearly all).
const gpus = TEST_DEVICES.filter((d) => d !== 'cpu' && everyOp.every((op) => ops.supports(op, d)));
if (gpus.length === 0) test.skip('the model on a GPU: no GPU among the test devices here (npm test runs it on the emulated backend)', () => {});
for (const device of gpus) {
  for (const kind of ['muon', 'adamw'] as const) {
    test(`three ${kind} training steps on ${device} give the CPU's losses, gradients and weights (f32) [${device}]`, (t) => {
      const models = (['cpu', device] as const).map((d) => new MoonlightModel(microConfig, { precision: 'f32', seed: 3, device: d }));
      t.true(models[1].parameters().every((p) => p.value.device === device));
      const opts = models.map((m) => kind === 'muon'
        ? new optim.Muon(m.parameters(), { lr: 0.02, weightDecay: 0.1 })
        : new optim.AdamW(m.parameters(), { lr: 0.01, weightDecay: 0.1 }));
      for (let step = 0; step < 3; ++step) {
        const losses = models.map((m) => m.loss(ids, targets, [B, S]));
        t.true(Math.abs(losses[1] - losses[0]) <= 1e-5 * Math.abs(losses[0]), `step ${step}: loss ${losses[1]} on ${device}, ${losses[0]} on the CPU`);
        t.true(Math.abs(models[1].lastStats.auxLoss - models[0].lastStats.auxLoss) <= 1e-5 * Math.abs(models[0].lastStats.auxLoss) + 1e-9);
        for (const m of models) m.backward();
        const [cpuParams, gpuParams] = models.map((m) => m.parameters());
        cpuParams.forEach((p, i) => {
          if (!p.grad) return t.is(gpuParams[i].grad, null, p.name);
          const err = maxRelative(read(gpuParams[i].grad!), read(p.grad));
          t.true(err <= 1e-4, `step ${step}: gradient of ${p.name} differs by ${err.toExponential(2)}`);
        });
        models.forEach((m, i) => {
          m.moeLayers().forEach((moe) => moe.updateBias(0.001));
          opts[i].step();
          opts[i].zeroGrad();
        });
        cpuParams.forEach((p, i) => {
          const err = maxRelative(read(gpuParams[i].value), read(p.value));
          if (kind === 'muon') return t.true(err <= 1e-4, `step ${step}: weights of ${p.name} differ by ${err.toExponential(2)} after the muon step`);
          // AdamW's first steps move every weight by about lr whatever the gradient's size, so a
          // gradient near eps (an expert that got one token) carries its rounding into the step:
          // compare the weights in units of lr.
          const gap = maxAbsolute(read(gpuParams[i].value), read(p.value)) / 0.01;
          t.true(gap <= 1e-2 * (step + 1), `step ${step}: weights of ${p.name} differ by ${gap.toExponential(2)} lr after the adamw step`);
        });
        models[0].moeLayers().forEach((moe, l) => t.deepEqual(models[1].moeLayers()[l].stats.load, moe.stats.load, `step ${step}: loads of MoE layer ${l}`));
      }
      for (const o of opts) o.dispose();
      for (const m of models) m.dispose();
    });
  }
}
