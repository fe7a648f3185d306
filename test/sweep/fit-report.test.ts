// The sweep's arithmetic: specs expand to the right runs, the power-law fit recovers known curves,
// speedups come out exactly where they were planted, and Newton-Schulz FLOPs match the protocol's
// figures for tiny and small.
import test from 'ava';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { presets } from '../../lib/nn/config';
import { budgetForLoss, fitLoss, fitPowerLaw, interval95 } from '../../lib/sweep/fit';
import { modelFlops, newtonSchulzFlopsPerStep } from '../../lib/sweep/flops';
import { analyze, reportCharts, reportMarkdown, verdict } from '../../lib/sweep/report';
import type { RunResult } from '../../lib/sweep/runner';
import { expandSpec, readSpec, type SweepSpec } from '../../lib/sweep/spec';

test('a spec expands to the crossed runs with steps from tokens; ids are stable and repeated runs appear once', (t) => {
  const spec = { base: { 'batch-size': 4, 'seq-len': 16, schedule: 'wsd' }, grid: [{ optimizer: ['adamw', 'muon'], lr: [0.01, 0.02], tokens: [640, 1280], seed: 1 }, { optimizer: 'muon', lr: 0.01, tokens: 640, seed: 1 }, { label: 'wd', optimizer: 'muon', lr: 0.01, tokens: 640, 'weight-decay': 0 }] } as SweepSpec;
  const runs = expandSpec(spec);
  t.is(runs.length, 9, '8 crossed + the repeat once + 1 check');
  t.deepEqual(runs.map((r) => r.flags.steps), [10, 20, 10, 20, 10, 20, 10, 20, 10]);
  t.is(runs[8].label, 'wd');
  t.is(runs[8].flags['weight-decay'], 0);
  t.deepEqual(expandSpec(spec).map((r) => r.id), runs.map((r) => r.id));
  t.not(expandSpec({ ...spec, base: { ...spec.base, schedule: 'cosine' } })[0].id, runs[0].id, 'another base, other runs');
  t.regex(runs[0].id, /^main-adamw-lr0.01-seed1-t640-[0-9a-f]{8}$/);
  t.throws(() => expandSpec({ base: { 'batch-size': 4, 'seq-len': 16 }, grid: [{ tokens: 100 }] }), { message: /tokens 100: expected a positive multiple of batch-size x seq-len = 64/ });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-spec-'));
  const write = (o: unknown) => (fs.writeFileSync(path.join(dir, 's.json'), JSON.stringify(o)), path.join(dir, 's.json'));
  t.throws(() => readSpec(write({ base: {}, grid: [{ tokens: 64, optimiser: 'muon' }] })), { message: /'optimiser' is not a moontrain train flag/ });
  t.throws(() => readSpec(write({ base: { out: 'x' }, grid: [{ tokens: 64 }] })), { message: /'out' is set by the sweep/ });
  t.throws(() => readSpec(write({ base: {}, grid: [{ lr: 0.1 }] })), { message: /no "tokens"/ });
  t.throws(() => readSpec(write({ base: {}, grid: [] })), { message: /at least one grid/ });
  fs.writeFileSync(path.join(dir, 's.json'), '{');
  t.throws(() => readSpec(path.join(dir, 's.json')), { message: /not valid JSON/ });
});

test('the fit recovers E + A*D^-alpha from exact points; two budgets give a power law through both', (t) => {
  const law = (D: number) => 3.1 + 40 * D ** -0.35;
  const fit = fitPowerLaw([1e4, 2e4, 4e4, 8e4, 1.6e5].map((D) => ({ D, L: law(D) })))!;
  t.is(fit.form, 'E+A*D^-alpha');
  t.true(Math.abs(fit.alpha - 0.35) < 0.005, `alpha ${fit.alpha}`);
  t.true(Math.abs(fit.E - 3.1) < 0.02, `E ${fit.E}`);
  for (const D of [1.5e4, 1e5]) t.true(Math.abs(fitLoss(fit, D) - law(D)) < 1e-3);
  t.true(Math.abs(budgetForLoss(fit, law(6e4)) / 6e4 - 1) < 0.01);
  t.is(budgetForLoss(fit, fit.E - 0.1), Infinity);
  const two = fitPowerLaw([{ D: 1000, L: 6 }, { D: 4000, L: 5 }])!;
  t.is(two.form, 'A*D^-alpha');
  t.true(Math.abs(fitLoss(two, 1000) - 6) < 1e-12 && Math.abs(fitLoss(two, 4000) - 5) < 1e-12);
  t.is(fitPowerLaw([{ D: 1000, L: 6 }, { D: 1000, L: 5 }]), null);
  t.deepEqual(interval95([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]), [1.25, 10.75]);
  t.deepEqual(interval95([2, Infinity, Infinity]), [2.1 * 0 + 2 + 0.05 * Infinity, Infinity].map((x) => x), 'infinite samples stay infinite, never NaN');
});

/** Synthetic results: AdamW on a known law at its best lr (worse elsewhere), Muon on the same law at `speed` times its tokens. */
function synthetic(speed: number, seeds: number[], noise = (_s: number, _optimizer: string) => 0): RunResult[] {
  const law = (D: number) => 3 + 30 * D ** -0.3;
  const rows: RunResult[] = [];
  const base = { label: 'main', flags: {}, wall_s: 1, finished_at: '' };
  for (const tokens of [20480, 40960, 81920, 163840]) {
    for (const seed of seeds) {
      for (const [lr, pen] of [[0.002, 0.05], [0.004, 0], [0.008, 0.08]]) {
        const L = law(tokens) + pen + noise(seed, 'adamw');
        rows.push({ ...base, id: `a${tokens}${seed}${lr}`, optimizer: 'adamw', lr, seed, tokens, steps: tokens / 64, val_loss: L, train_loss: L - 0.01, model_flops: 100 * tokens, newton_schulz_flops: 0, train_s: tokens / 1000 });
      }
      for (const [lr, pen] of [[0.004, 0.02], [0.008, 0], [0.016, 0.03]]) {
        const L = law(tokens * speed) + pen + noise(seed, 'muon');
        rows.push({ ...base, id: `m${tokens}${seed}${lr}`, optimizer: 'muon', lr, seed, tokens, steps: tokens / 64, val_loss: L, train_loss: L - 0.02, model_flops: 100 * tokens, newton_schulz_flops: 25 * tokens, train_s: tokens / 800 });
      }
    }
  }
  return rows;
}

test('speedups come out where they were planted: tokens, FLOPs with Newton-Schulz, seconds', (t) => {
  const s = analyze(synthetic(1.5, [1, 2]), { resamples: 200 });
  t.is(s.budgets.length, 4);
  for (const b of s.budgets.slice(0, 3)) {
    t.is(b.adamw_best_lr, 0.004);
    t.is(b.muon_best_lr, 0.008);
    t.true(Math.abs(b.token_speedup - 1.5) < 0.02, `token ${b.token_speedup}`);
    t.true(Math.abs(b.flop_speedup - 1.5 / 1.25) < 0.02, `flop ${b.flop_speedup}`);
    t.true(Math.abs(b.wall_speedup - 1.5 * 0.8) < 0.02, `wall ${b.wall_speedup}`);
    t.true(Math.abs(b.newton_schulz_overhead - 0.25) < 1e-12);
    t.true(b.token_speedup_ci95[0] <= b.token_speedup && b.token_speedup <= b.token_speedup_ci95[1]);
    t.regex(b.verdict, /agrees with the later, smaller reports/);
    t.is(b.muon_at_adamw_lr!.lr, 0.004);
    t.true(b.muon_at_adamw_lr!.token_speedup < b.token_speedup, 'Muon at AdamW\'s lr is worse here');
  }
  t.true(s.budgets[3].extrapolated, 'beyond the largest AdamW budget');
  t.true(s.cells.filter((c) => c.best).every((c) => !c.edge));
  const md = reportMarkdown(s);
  t.regex(md, /\| 20\.5k \| 0\.004 \| 0\.008 \|/);
  for (const svg of Object.values(reportCharts(s))) t.regex(svg, /^<svg[\s\S]*<circle[\s\S]*<\/svg>\n$/);
});

test('seed noise widens the interval; no advantage when Muon is AdamW; the verdict bands', (t) => {
  const noisy = analyze(synthetic(1.0, [1, 2, 3, 4], (s, o) => (o === 'muon' ? [0.02, -0.02, 0.01, -0.01] : [-0.01, 0.01, 0.02, -0.02])[s - 1]), { resamples: 500 });
  const b = noisy.budgets[1];
  t.true(Math.abs(b.token_speedup - 1) < 0.02);
  t.true(b.token_speedup_ci95[0] < 1 && b.token_speedup_ci95[1] > 1, JSON.stringify(b.token_speedup_ci95));
  t.regex(b.verdict, /no advantage/);
  const one = analyze(synthetic(1.5, [1]), { resamples: 50 }).budgets[0];
  t.true(Math.abs(one.token_speedup - 1.5) < 0.02);
  t.regex(one.verdict, /not judged: one seed gives no interval/);
  t.regex(verdict(2.0, [1.6, 2.5], 0.2), /reproduces Moonlight/);
  t.regex(verdict(1.9, [1.3, 2.5], 0.2), /outside the rule's bands/);
  t.regex(verdict(1.15, [1.05, 1.3], 0.23), /agrees with the later.*below 1 \+ the Newton-Schulz overhead \(1\.23\)/);
  t.regex(verdict(0.8, [0.7, 0.9], 0.2), /AdamW is faster/);
  t.regex(verdict(1.07, [1.03, 1.11], 0.23), /an advantage smaller than the later reports' \(below 1\.1x, interval above 1\); below 1 \+ the Newton-Schulz overhead/);
});

test("Newton-Schulz FLOPs: tiny at 2,048 tokens a step +23%, small +148% (37% at 8,192)", (t) => {
  const pct = (c: typeof presets.tiny, T: number) => (100 * newtonSchulzFlopsPerStep(c)) / modelFlops(c, 128, T);
  t.is(pct(presets.tiny, 2048).toFixed(0), '23');
  t.is(pct(presets.small, 2048).toFixed(0), '148');
  t.is(pct(presets.small, 8192).toFixed(0), '37');
});
