// The aux-loss-free router bias (DeepSeek-V3): after each step every expert's bias moves by
// rate · (sign(mean load − load) − mean of those signs), so overloaded experts lose bias and
// underloaded ones gain it, and over steps the expert load evens out.
import test from 'ava';
import { nn } from '../../lib';
import { mulberry32 } from '../helpers/ref';
import { microConfig } from '../helpers/micro-run';

test('updateBias moves each expert against its load, in float64 arithmetic', (t) => {
  const model = new nn.MoonlightModel({ ...microConfig, n_routed_experts: 5, num_experts_per_tok: 2 } as never, { precision: 'f32', seed: 2 });
  const moe = model.moeLayers()[0]!;
  const before = Float64Array.from(moe.bias.value.toFloat32Array());
  const load = Int32Array.from([13, 2, 6, 9, 0]); // mean 6
  const rate = 0.01;
  moe.updateBias(rate, load);
  const after = moe.bias.value.toFloat32Array();
  const sign = Array.from(load, (l) => Math.sign(6 - l)); // [-1, 1, 0, -1, 1]
  const meanSign = sign.reduce((a, b) => a + b, 0) / 5;
  for (let i = 0; i < 5; ++i) t.true(Math.abs(after[i]! - (before[i]! + rate * (sign[i]! - meanSign))) < 1e-7, `expert ${i}`);
  t.true(after[0]! < before[0]! && after[1]! > before[1]!, 'the busiest expert loses bias, an idle one gains');
  model.dispose();
});

test('routing with the bias update evens out the expert load over steps', (t) => {
  const cfg = { ...microConfig, n_routed_experts: 8, num_experts_per_tok: 2 } as never;
  const model = new nn.MoonlightModel(cfg, { precision: 'f32', seed: 7, initStd: 0.5 });
  const rng = mulberry32(11);
  const ids = Int32Array.from({ length: 4 * 32 }, () => Math.floor(rng() * 300));
  const imbalance = () => {
    model.loss(ids, ids, [4, 32], { backward: false });
    const load = model.moeLayers()[0]!.stats.load;
    const mean = load.reduce((a, b) => a + b, 0) / load.length;
    return Math.max(...load) / mean;
  };
  const first = imbalance();
  for (let step = 0; step < 60; ++step) {
    imbalance();
    model.updateRouterBias(0.01);
  }
  const last = imbalance();
  model.clearActivations();
  t.true(first > 1.3, `the random router starts imbalanced (${first})`);
  t.true(last < first * 0.8, `imbalance ${first.toFixed(2)} -> ${last.toFixed(2)}`);
  model.dispose();
});
