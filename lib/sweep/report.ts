// The report of a sweep directory (results.jsonl): per optimizer and budget the best lr (mean
// validation loss over the seeds every lr of that cell ran), AdamW's loss-versus-tokens fit over
// its best runs, and per Muon budget the speedups: tokens (the budget at which AdamW's fit reaches
// Muon's loss, over Muon's budget), FLOPs (Newton-Schulz counted) and training seconds, with 95%
// intervals by a paired bootstrap over seeds (the fit is redone in every resample). Runs labelled
// other than 'main' (checks) are tabulated beside the main run with the same optimizer, budget and
// seed. Writes summary.json, report.md and SVG charts.
import * as fs from 'fs';
import * as path from 'path';
import { writeFileAtomic } from '../io/atomic';
import { budgetForLoss, fitLoss, fitPowerLaw, interval95, rng, type PowerFit } from './fit';
import { readResults, type RunResult } from './runner';
import { chartSvg, type Series } from './svg';

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const uniq = <T>(xs: T[]) => [...new Set(xs)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

export interface Cell {
  optimizer: string;
  tokens: number;
  lr: number;
  seeds: number[];
  val_loss: number;
  train_loss: number;
}

export interface BudgetSpeedup {
  tokens: number;
  adamw_best_lr: number | null;
  muon_best_lr: number;
  adamw_val_loss: number | null;
  muon_val_loss: number;
  seeds: number[];
  /** The budget at which AdamW's fit reaches Muon's loss. */
  adamw_equivalent_tokens: number;
  /** True when that budget is outside the AdamW budgets the fit was made from. */
  extrapolated: boolean;
  token_speedup: number;
  token_speedup_ci95: [number, number];
  flop_speedup: number;
  flop_speedup_ci95: [number, number];
  wall_speedup: number;
  /** Newton-Schulz FLOPs over model FLOPs of the Muon run: a token speedup below 1 + this saves no compute. */
  newton_schulz_overhead: number;
  verdict: string;
  /** Moonlight's protocol: Muon at AdamW's best lr (when that run exists). */
  muon_at_adamw_lr?: { lr: number; val_loss: number; token_speedup: number; token_speedup_ci95: [number, number] };
}

export interface SweepSummary {
  runs: number;
  fit: (PowerFit & { points: { tokens: number; val_loss: number }[] }) | null;
  cells: (Cell & { best: boolean; edge: boolean })[];
  budgets: BudgetSpeedup[];
  checks: { label: string; optimizer: string; tokens: number; lr: number; seed: number; flags: Record<string, unknown>; val_loss: number; train_loss: number; main_val_loss: number | null }[];
  gap: { optimizer: string; tokens: number; train_loss: number; val_loss: number; gap: number }[];
  bootstrap: { resamples: number; seeds: number[] };
  wall_note: string;
}

/** The verdict rule of docs/experiments.md, applied to one token speedup and its interval. */
export function verdict(s: number, [lo, hi]: [number, number], nsOverhead: number): string {
  let v: string;
  if (!Number.isFinite(s) && s !== Infinity) v = 'no speedup could be read (no fit)';
  else if (Number.isNaN(lo) || Number.isNaN(hi)) v = 'not judged: one seed gives no interval';
  else if (lo <= 1 && hi >= 1) v = 'no advantage at this scale (the interval includes 1)';
  else if (s >= 1.8 && lo >= 1.5) v = "reproduces Moonlight's about 2x";
  else if (s >= 1.1 && s < 1.8 && lo > 1) v = 'agrees with the later, smaller reports (1.1-1.8x, interval above 1)';
  else if (hi < 1) v = 'AdamW is faster (the interval is below 1)';
  else if (s < 1.1 && lo > 1) v = 'an advantage smaller than the later reports\' (below 1.1x, interval above 1)';
  else v = `outside the rule's bands (speedup ${s.toFixed(2)}, interval ${lo.toFixed(2)}-${hi.toFixed(2)})`;
  if (s > 0 && s < 1 + nsOverhead) v += `; below 1 + the Newton-Schulz overhead (${(1 + nsOverhead).toFixed(2)}): no compute saved on a CPU`;
  return v;
}

function cells(rows: RunResult[], optimizer: string, tokens: number): Cell[] {
  const here = rows.filter((r) => r.optimizer === optimizer && r.tokens === tokens);
  const lrs = uniq(here.map((r) => r.lr));
  // Seeds that every lr of this cell ran, so that lrs are compared on the same data.
  const common = uniq(here.map((r) => r.seed)).filter((s) => lrs.every((lr) => here.some((r) => r.lr === lr && r.seed === s)));
  return lrs.map((lr) => {
    const at = here.filter((r) => r.lr === lr);
    const use = common.length ? at.filter((r) => common.includes(r.seed)) : at;
    return { optimizer, tokens, lr, seeds: uniq(at.map((r) => r.seed)), val_loss: mean(use.map((r) => r.val_loss)), train_loss: mean(use.map((r) => r.train_loss)) };
  });
}

export function analyze(results: RunResult[], options: { resamples?: number; seed?: number } = {}): SweepSummary {
  const main = results.filter((r) => r.label === 'main');
  const budgets = uniq(main.map((r) => r.tokens));
  const allCells: SweepSummary['cells'] = [];
  const best = new Map<string, Cell>();
  for (const optimizer of uniq(main.map((r) => r.optimizer))) {
    for (const tokens of budgets) {
      const cs = cells(main, optimizer, tokens);
      if (!cs.length) continue;
      const b = cs.reduce((a, c) => (c.val_loss < a.val_loss ? c : a));
      best.set(`${optimizer}:${tokens}`, b);
      for (const c of cs) allCells.push({ ...c, best: c === b, edge: c === b && cs.length > 1 && (c === cs[0] || c === cs[cs.length - 1]) });
    }
  }
  const runsAt = (optimizer: string, tokens: number, lr: number) => main.filter((r) => r.optimizer === optimizer && r.tokens === tokens && r.lr === lr);
  const adamwBudgets = budgets.filter((t) => best.has(`adamw:${t}`));
  const seedsAll = uniq(main.filter((r) => best.get(`${r.optimizer}:${r.tokens}`)?.lr === r.lr).map((r) => r.seed));
  // The mean loss of a (optimizer, budget, lr) over a resample of seeds; seeds the cell lacks are skipped.
  const lossOver = (runs: RunResult[], draw: number[], key: 'val_loss' | 'train_loss' = 'val_loss') => {
    const picked = draw.flatMap((s) => runs.filter((r) => r.seed === s));
    return mean((picked.length ? picked : runs).map((r) => r[key]));
  };
  const fitFor = (draw: number[]) => fitPowerLaw(adamwBudgets.map((t) => ({ D: t, L: lossOver(runsAt('adamw', t, best.get(`adamw:${t}`)!.lr), draw) })));
  const pointFit = fitFor(seedsAll);
  const adamwRows = main.filter((r) => r.optimizer === 'adamw');
  const adamwFlopsPerToken = adamwRows.length ? mean(adamwRows.map((r) => r.model_flops / r.tokens)) : NaN;
  const bestAdamw = adamwRows.filter((r) => best.get(`adamw:${r.tokens}`)?.lr === r.lr);
  const adamwSecondsPerToken = bestAdamw.length ? mean(bestAdamw.map((r) => r.train_s / r.tokens)) : NaN;
  const resamples = options.resamples ?? 2000;
  const random = rng(options.seed ?? 1);
  const draws = Array.from({ length: resamples }, () => seedsAll.map(() => seedsAll[Math.floor(random() * seedsAll.length)]));
  const drawFits = draws.map(fitFor);

  const out: BudgetSpeedup[] = [];
  for (const tokens of budgets) {
    const m = best.get(`muon:${tokens}`);
    if (!m || !pointFit) continue;
    const muonRuns = runsAt('muon', tokens, m.lr);
    const speedup = (fit: PowerFit | null, draw: number[], runs = muonRuns) => (fit ? budgetForLoss(fit, lossOver(runs, draw)) / tokens : NaN);
    const eq = budgetForLoss(pointFit, lossOver(muonRuns, seedsAll));
    const s = eq / tokens;
    const tokenSamples = draws.map((d, i) => speedup(drawFits[i], d));
    const muonFlops = mean(muonRuns.map((r) => r.model_flops + r.newton_schulz_flops));
    const flopScale = (adamwFlopsPerToken * tokens) / muonFlops;
    const ns = mean(muonRuns.map((r) => r.newton_schulz_flops / r.model_flops));
    // One seed has nothing to resample: no interval.
    const ci: [number, number] = seedsAll.length > 1 ? interval95(tokenSamples) : [NaN, NaN];
    const a = best.get(`adamw:${tokens}`);
    const entry: BudgetSpeedup = {
      tokens,
      adamw_best_lr: a?.lr ?? null,
      muon_best_lr: m.lr,
      adamw_val_loss: a ? lossOver(runsAt('adamw', tokens, a.lr), seedsAll) : null,
      muon_val_loss: lossOver(muonRuns, seedsAll),
      seeds: uniq(muonRuns.map((r) => r.seed)),
      adamw_equivalent_tokens: eq,
      extrapolated: eq > Math.max(...adamwBudgets) || eq < Math.min(...adamwBudgets),
      token_speedup: s,
      token_speedup_ci95: ci,
      flop_speedup: s * flopScale,
      flop_speedup_ci95: [ci[0] * flopScale, ci[1] * flopScale],
      wall_speedup: (eq * adamwSecondsPerToken) / mean(muonRuns.map((r) => r.train_s)),
      newton_schulz_overhead: ns,
      verdict: verdict(s, ci, ns),
    };
    const moon = a ? runsAt('muon', tokens, a.lr) : [];
    if (a && moon.length && a.lr !== m.lr) {
      const ms = draws.map((d, i) => speedup(drawFits[i], d, moon));
      entry.muon_at_adamw_lr = { lr: a.lr, val_loss: lossOver(moon, seedsAll), token_speedup: budgetForLoss(pointFit, lossOver(moon, seedsAll)) / tokens, token_speedup_ci95: seedsAll.length > 1 && new Set(moon.map((r) => r.seed)).size > 1 ? interval95(ms) : [NaN, NaN] };
    } else if (a && a.lr === m.lr) {
      entry.muon_at_adamw_lr = { lr: a.lr, val_loss: entry.muon_val_loss, token_speedup: s, token_speedup_ci95: ci };
    }
    out.push(entry);
  }
  const checks = results.filter((r) => r.label !== 'main').map((r) => {
    const b = best.get(`${r.optimizer}:${r.tokens}`);
    const twin = b ? runsAt(r.optimizer, r.tokens, b.lr).find((x) => x.seed === r.seed) : undefined;
    return { label: r.label, optimizer: r.optimizer, tokens: r.tokens, lr: r.lr, seed: r.seed, flags: r.flags, val_loss: r.val_loss, train_loss: r.train_loss, main_val_loss: twin?.val_loss ?? null };
  });
  const gap = [...best.values()].map((c) => ({ optimizer: c.optimizer, tokens: c.tokens, train_loss: c.train_loss, val_loss: c.val_loss, gap: c.val_loss - c.train_loss }));
  return {
    runs: results.length,
    fit: pointFit ? { ...pointFit, points: adamwBudgets.map((t) => ({ tokens: t, val_loss: lossOver(runsAt('adamw', t, best.get(`adamw:${t}`)!.lr), seedsAll) })) } : null,
    cells: allCells, budgets: out, checks, gap,
    bootstrap: { resamples, seeds: seedsAll },
    wall_note: 'wall speedups use seconds inside training steps on the machine that ran the sweep; on a machine shared with other work they carry its contention',
  };
}

const colors: Record<string, string> = { adamw: '#1f77b4', muon: '#d62728' };
const shades = ['#9ecae1', '#4292c6', '#08519c', '#08306b', '#fcae91', '#fb6a4a', '#cb181d', '#67000d'];
const M = (t: number) => (!Number.isFinite(t) ? String(t) : t >= 1e5 ? `${+(t / 1e6).toFixed(2)}M` : t >= 1e3 ? `${+(t / 1e3).toFixed(1)}k` : `${+t.toPrecision(3)}`);
const showCi = (a: [number, number]) => (a[0] === null || Number.isNaN(a[0]) ? 'no interval: one seed' : `${f(a[0], 2)}-${f(a[1], 2)}`);
const f = (x: number | null | undefined, d = 3) => (x === null || x === undefined ? '-' : Number.isFinite(x) ? x.toFixed(d) : String(x));

export function reportMarkdown(s: SweepSummary): string {
  const lines: string[] = [`# Sweep report (${s.runs} runs)`, ''];
  lines.push('## Loss against lr (validation, mean over the seeds every lr ran; * = best, ! = best at the grid\'s edge)', '', '| optimizer | tokens | lr | seeds | val loss | train loss |', '|---|---|---|---|---|---|');
  for (const c of s.cells) lines.push(`| ${c.optimizer} | ${M(c.tokens)} | ${c.lr}${c.best ? (c.edge ? ' *!' : ' *') : ''} | ${c.seeds.join(',')} | ${f(c.val_loss, 4)} | ${f(c.train_loss, 4)} |`);
  lines.push('', '## AdamW fit');
  if (s.fit) lines.push('', `L(D) = ${f(s.fit.E, 4)} + ${s.fit.A.toPrecision(4)}·D^-${f(s.fit.alpha, 4)} (form ${s.fit.form}, rms residual ${s.fit.rms.toExponential(2)}), from ${s.fit.points.map((p) => `${M(p.tokens)}: ${f(p.val_loss, 4)}`).join(', ')}`);
  else lines.push('', 'No fit: AdamW needs runs at two budgets or more.');
  lines.push('', '## Speedups of Muon (bootstrap over seeds ' + s.bootstrap.seeds.join(',') + `, ${s.bootstrap.resamples} resamples)`, '', '| tokens | AdamW lr | Muon lr | AdamW loss | Muon loss | AdamW-equivalent tokens | token speedup (95%) | FLOP speedup (95%) | wall speedup | NS overhead | verdict |', '|---|---|---|---|---|---|---|---|---|---|---|');
  for (const b of s.budgets)
    lines.push(`| ${M(b.tokens)} | ${b.adamw_best_lr ?? '-'} | ${b.muon_best_lr} | ${f(b.adamw_val_loss, 4)} | ${f(b.muon_val_loss, 4)} | ${M(b.adamw_equivalent_tokens)}${b.extrapolated ? ' (extrapolated)' : ''} | ${f(b.token_speedup, 2)} (${showCi(b.token_speedup_ci95)}) | ${f(b.flop_speedup, 2)} (${showCi(b.flop_speedup_ci95)}) | ${f(b.wall_speedup, 2)} | ${(100 * b.newton_schulz_overhead).toFixed(1)}% | ${b.verdict} |`);
  const moon = s.budgets.filter((b) => b.muon_at_adamw_lr);
  if (moon.length) {
    lines.push('', "## Muon at AdamW's best lr (Moonlight's protocol)", '', '| tokens | lr | Muon loss | token speedup (95%) |', '|---|---|---|---|');
    for (const b of moon) lines.push(`| ${M(b.tokens)} | ${b.muon_at_adamw_lr!.lr} | ${f(b.muon_at_adamw_lr!.val_loss, 4)} | ${f(b.muon_at_adamw_lr!.token_speedup, 2)} (${showCi(b.muon_at_adamw_lr!.token_speedup_ci95)}) |`);
  }
  if (s.checks.length) {
    lines.push('', '## Checks (against the main run at the best lr, same seed)', '', '| label | optimizer | tokens | lr | seed | val loss | main val loss | difference |', '|---|---|---|---|---|---|---|---|');
    for (const c of s.checks) lines.push(`| ${c.label} | ${c.optimizer} | ${M(c.tokens)} | ${c.lr} | ${c.seed} | ${f(c.val_loss, 4)} | ${f(c.main_val_loss, 4)} | ${c.main_val_loss === null ? '-' : f(c.val_loss - c.main_val_loss, 4)} |`);
  }
  lines.push('', '## Train-validation gap (best lr)', '', '| optimizer | tokens | train loss | val loss | gap |', '|---|---|---|---|---|');
  for (const g of s.gap) lines.push(`| ${g.optimizer} | ${M(g.tokens)} | ${f(g.train_loss, 4)} | ${f(g.val_loss, 4)} | ${f(g.gap, 4)} |`);
  lines.push('', `Wall speedups: ${s.wall_note}.`, '');
  return lines.join('\n');
}

export function reportCharts(s: SweepSummary): Record<string, string> {
  const byLr: Series[] = [];
  let k = 0;
  for (const opt of uniq(s.cells.map((c) => c.optimizer)))
    for (const t of uniq(s.cells.filter((c) => c.optimizer === opt).map((c) => c.tokens)))
      byLr.push({ name: `${opt} ${M(t)}`, color: opt === 'adamw' ? shades[k++ % 4] : shades[4 + (k++ % 4)], dashed: opt === 'muon', points: s.cells.filter((c) => c.optimizer === opt && c.tokens === t).map((c) => ({ x: c.lr, y: c.val_loss })) });
  const vsTokens: Series[] = [];
  if (s.fit) {
    const lo = Math.min(...s.fit.points.map((p) => p.tokens), ...s.budgets.map((b) => b.tokens)) / 1.5;
    const hi = Math.max(...s.fit.points.map((p) => p.tokens), ...s.budgets.map((b) => (Number.isFinite(b.adamw_equivalent_tokens) ? b.adamw_equivalent_tokens : b.tokens))) * 1.2;
    vsTokens.push({ name: 'AdamW fit', color: colors.adamw, dashed: true, points: Array.from({ length: 60 }, (_, i) => lo * (hi / lo) ** (i / 59)).map((x) => ({ x, y: fitLoss(s.fit!, x) })) });
    vsTokens.push({ name: 'AdamW (best lr)', color: colors.adamw, line: false, points: s.fit.points.map((p) => ({ x: p.tokens, y: p.val_loss })) });
  }
  vsTokens.push({ name: 'Muon (best lr)', color: colors.muon, line: false, points: s.budgets.map((b) => ({ x: b.tokens, y: b.muon_val_loss })) });
  vsTokens.push({ name: 'Muon matched on the fit', color: '#ff9896', line: false, points: s.budgets.map((b) => ({ x: b.adamw_equivalent_tokens, y: b.muon_val_loss })) });
  const speed: Series[] = [
    { name: 'tokens', color: '#2ca02c', points: s.budgets.map((b) => ({ x: b.tokens, y: b.token_speedup, lo: b.token_speedup_ci95[0], hi: b.token_speedup_ci95[1] })) },
    { name: 'FLOPs (NS counted)', color: '#9467bd', dashed: true, points: s.budgets.map((b) => ({ x: b.tokens * 1.03, y: b.flop_speedup, lo: b.flop_speedup_ci95[0], hi: b.flop_speedup_ci95[1] })) },
    { name: 'wall (this machine)', color: '#8c564b', dashed: true, points: s.budgets.map((b) => ({ x: b.tokens * 0.97, y: b.wall_speedup })) },
  ];
  const gap: Series[] = uniq(s.gap.map((g) => g.optimizer)).map((opt) => ({ name: opt, color: colors[opt] ?? '#333', points: s.gap.filter((g) => g.optimizer === opt).map((g) => ({ x: g.tokens, y: g.gap })) }));
  return {
    'loss-vs-lr.svg': chartSvg({ title: 'Final validation loss against lr (per optimizer and budget)', xLabel: 'peak lr', yLabel: 'validation loss (nats/token)', logX: true, series: byLr }),
    'loss-vs-tokens.svg': chartSvg({ title: "Loss against tokens: AdamW's fit and Muon's matched budgets", xLabel: 'tokens', yLabel: 'validation loss (nats/token)', logX: true, series: vsTokens }),
    'speedup.svg': chartSvg({ title: 'Speedup of Muon over AdamW (95% bootstrap intervals)', xLabel: 'Muon budget (tokens)', yLabel: 'speedup', logX: true, series: speed, hLines: [{ y: 1, label: 'no advantage' }] }),
    'gap.svg': chartSvg({ title: 'Validation minus training loss (best lr)', xLabel: 'tokens', yLabel: 'gap (nats/token)', logX: true, series: gap }),
  };
}

/** Writes summary.json, report.md and the charts into dir; returns their paths. */
export function writeReport(dir: string): string[] {
  const results = readResults(dir);
  if (!results.length) throw Object.assign(new Error(`moontrain sweep --report: no results in ${path.join(dir, 'results.jsonl')}`), { code: 'ERR_MOONTRAIN_NO_RESULTS' });
  const s = analyze(results);
  const files: Record<string, string> = { 'summary.json': JSON.stringify(s, null, 1) + '\n', 'report.md': reportMarkdown(s), ...reportCharts(s) };
  fs.mkdirSync(dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) writeFileAtomic(path.join(dir, name), text);
  return Object.keys(files).map((n) => path.join(dir, n));
}
