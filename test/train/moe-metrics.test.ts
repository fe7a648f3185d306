// Expert-load figures against a reference written out here (float64, two passes), on random loads
// with idle experts and odd expert counts; the plot's expert-load panel.
import test from 'ava';
import { expertLoadMetrics, expertLoadSummary } from '../../lib/train/moe-metrics';
import { lossSvg } from '../../lib/train/metrics';
import type { StepMetrics } from '../../lib/train/metrics';

function rng(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

function reference(load: number[], bias: number[]) {
  const E = load.length, mean = load.reduce((a, b) => a + b, 0) / E;
  const variance = load.map((l) => (l - mean) ** 2).reduce((a, b) => a + b, 0) / E;
  return {
    max: Math.max(...load) / mean, min: Math.min(...load) / mean, cv: Math.sqrt(variance) / mean,
    idle: load.filter((l) => l === 0).length, norm: Math.hypot(...bias),
  };
}

test('per-layer load figures match the reference', (t) => {
  const r = rng(7);
  for (const E of [3, 8, 37, 64]) {
    const load = Array.from({ length: E }, () => (r() < 0.2 ? 0 : Math.floor(r() * 500)));
    const bias = Array.from({ length: E }, () => r() * 0.02 - 0.01);
    const m = expertLoadMetrics(5, Float64Array.from(load), Float32Array.from(bias));
    const ref = reference(load, Array.from(Float32Array.from(bias)));
    t.deepEqual(Object.keys(m), ['load_max_over_mean', 'load_min_over_mean', 'load_cv', 'experts_idle', 'router_bias_norm'].map((k) => `moe/layer5/${k}`));
    const close = (a: number, b: number, what: string) => t.true(Math.abs(a - b) <= 1e-12 * Math.max(1, Math.abs(b)), `E=${E} ${what}: ${a} vs ${b}`);
    close(m['moe/layer5/load_max_over_mean']!, ref.max, 'max/mean');
    close(m['moe/layer5/load_min_over_mean']!, ref.min, 'min/mean');
    close(m['moe/layer5/load_cv']!, ref.cv, 'cv');
    t.is(m['moe/layer5/experts_idle'], ref.idle);
    close(m['moe/layer5/router_bias_norm']!, ref.norm, 'bias norm');
  }
  const even = expertLoadMetrics(1, [4, 4, 4], [0, 0, 0]);
  t.deepEqual(Object.values(even), [1, 1, 0, 0, 0], 'a perfectly balanced layer');
  const none = expertLoadMetrics(1, [0, 0], [0, 0]);
  t.true(Number.isNaN(none['moe/layer1/load_cv']!) && none['moe/layer1/experts_idle'] === 2, 'no token routed: NaN ratios, all idle');
});

test('the summary: worst max/mean, mean CV, idle experts in all', (t) => {
  const a = expertLoadMetrics(1, [1, 2, 3, 10], [0, 0, 0, 0]), b = expertLoadMetrics(3, [0, 5, 5, 6], [0, 0, 0, 0]);
  const s = expertLoadSummary([a, b]);
  t.is(s['moe/load_max_over_mean'], Math.max(a['moe/layer1/load_max_over_mean']!, b['moe/layer3/load_max_over_mean']!));
  t.is(s['moe/load_cv'], (a['moe/layer1/load_cv']! + b['moe/layer3/load_cv']!) / 2);
  t.is(s['moe/experts_idle'], 1);
  t.deepEqual(expertLoadSummary([]), {});
});

test('loss.svg: a second panel with the expert-load balance when the rows have it', (t) => {
  const rows: StepMetrics[] = Array.from({ length: 20 }, (_, i) => ({
    step: i, loss: 5 - i / 10, lr: 1e-3, tokens: (i + 1) * 512, tokens_per_s: 1000,
    'moe/load_max_over_mean': 2 - i / 40, 'moe/load_cv': 0.5 - i / 80, ...(i % 5 === 4 ? { val_loss: 5.1 - i / 10 } : {}),
  }));
  const svg = lossSvg(rows);
  t.regex(svg, /expert load balance/);
  t.regex(svg, /max\/mean load \(worst layer\)/);
  t.is((svg.match(/<path d="M[\d.]+,[\d.]+ L/g) ?? []).length, 4, 'train, validation, max/mean and CV lines');
  const dense = lossSvg(rows.map(({ 'moe/load_max_over_mean': _, 'moe/load_cv': _c, ...r }) => r as StepMetrics));
  t.notRegex(dense, /expert load balance/);
  t.is((dense.match(/<path d="M[\d.]+,[\d.]+ L/g) ?? []).length, 2);
});
