// AdamW's loss against tokens, L(D) = E + A * D^-alpha, and the budget at which it reaches a loss.
// For each alpha on a fine grid, E and A are a linear least-squares fit (E >= 0 and A > 0 kept);
// the alpha with the least squared error wins. With two budgets the three parameters are not
// determined: E = 0 (a pure power law through both points); with one, nothing can be fitted.

export interface PowerFit {
  E: number;
  A: number;
  alpha: number;
  /** 'E+A*D^-alpha' (3 or more budgets) or 'A*D^-alpha' (2 budgets, E fixed at 0). */
  form: string;
  /** Root-mean-square residual over the points. */
  rms: number;
}

function linear(xs: number[], ys: number[], withOffset: boolean): { E: number; A: number } {
  const n = xs.length;
  if (!withOffset) {
    const sxx = xs.reduce((a, x) => a + x * x, 0), sxy = xs.reduce((a, x, i) => a + x * ys[i], 0);
    return { E: 0, A: sxy / sxx };
  }
  const mx = xs.reduce((a, b) => a + b, 0) / n, my = ys.reduce((a, b) => a + b, 0) / n;
  let sxx = 0, sxy = 0;
  for (let i = 0; i < n; i++) {
    sxx += (xs[i] - mx) ** 2;
    sxy += (xs[i] - mx) * (ys[i] - my);
  }
  const A = sxx > 0 ? sxy / sxx : 0;
  return { E: my - A * mx, A };
}

/** Fits L = E + A*D^-alpha to points (D, L); null with fewer than two distinct budgets. */
export function fitPowerLaw(points: { D: number; L: number }[]): PowerFit | null {
  const distinct = new Set(points.map((p) => p.D)).size;
  if (distinct < 2) return null;
  const withOffset = distinct >= 3;
  if (!withOffset) {
    // Through the two budgets' mean losses, in log space.
    const by = new Map<number, number[]>();
    for (const p of points) by.set(p.D, [...(by.get(p.D) ?? []), p.L]);
    const [[d1, l1], [d2, l2]] = [...by].map(([d, ls]) => [d, ls.reduce((a, b) => a + b, 0) / ls.length]);
    const alpha = -Math.log(l2 / l1) / Math.log(d2 / d1);
    const A = l1 * d1 ** alpha;
    const rms = Math.sqrt(points.reduce((a, p) => a + (p.L - A * p.D ** -alpha) ** 2, 0) / points.length);
    return { E: 0, A, alpha, form: 'A*D^-alpha', rms };
  }
  const ys = points.map((p) => p.L);
  let best: PowerFit | null = null;
  for (let k = 0; k <= 2000; k++) {
    const alpha = 0.005 * 1.004 ** k;  // 0.005 ... ~15
    const xs = points.map((p) => p.D ** -alpha);
    let { E, A } = linear(xs, ys, true);
    if (E < 0 || A <= 0) ({ E, A } = linear(xs, ys, false));
    if (A <= 0) continue;
    const sse = points.reduce((a, p, i) => a + (p.L - E - A * xs[i]) ** 2, 0);
    if (!best || sse < best.rms) best = { E, A, alpha, form: 'E+A*D^-alpha', rms: sse };
  }
  if (best) best.rms = Math.sqrt(best.rms / points.length);
  return best;
}

export function fitLoss(f: PowerFit, D: number): number {
  return f.E + f.A * D ** -f.alpha;
}

/** The budget at which the fit reaches loss L (Infinity if L is at or below E). */
export function budgetForLoss(f: PowerFit, L: number): number {
  return L <= f.E ? Infinity : ((L - f.E) / f.A) ** (-1 / f.alpha);
}

/** Deterministic uniform numbers in [0, 1) (mulberry32), for reproducible bootstraps. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The 2.5% and 97.5% percentiles (linear interpolation) of finite-or-infinite samples. */
export function interval95(samples: number[]): [number, number] {
  const s = [...samples].sort((a, b) => a - b);
  const q = (p: number) => {
    const x = p * (s.length - 1), i = Math.floor(x), f = x - i;
    return i + 1 < s.length && f > 0 && s[i + 1] !== s[i] ? s[i] + f * (s[i + 1] - s[i]) : s[i];
  };
  return [q(0.025), q(0.975)];
}
