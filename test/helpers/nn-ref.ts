// Float64 references of the neural-network ops (test/nn-ops), plain loops over row-major
// Float64Arrays, plus central finite differences to verify every analytic backward.
//
// Each forward here is the specification; each backward is derived by hand and checked in the
// tests against finiteDiffGrad of the forward, so the native backward is verified twice.

export type Arr = ArrayLike<number>;

/** sum_i a_i b_i */
export function dot(a: Arr, b: Arr): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/**
 * Gradient of a scalar function by central differences: g_i = (f(x + h e_i) - f(x - h e_i)) / 2h.
 * x is restored afterwards.
 */
export function finiteDiffGrad(f: (x: Float64Array) => number, x: Float64Array, h = 1e-5): Float64Array {
  const g = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const x0 = x[i];
    x[i] = x0 + h;
    const fp = f(x);
    x[i] = x0 - h;
    const fm = f(x);
    x[i] = x0;
    g[i] = (fp - fm) / (2 * h);
  }
  return g;
}

/** sum(dy * y) as a function of one input, for finiteDiffGrad. */
export function lossOf(dy: Arr, forward: (x: Float64Array) => Arr): (x: Float64Array) => number {
  return (x) => dot(dy, forward(x));
}

// ---------------------------------------------------------------------------------------------
// Embedding
// ---------------------------------------------------------------------------------------------

export function embeddingRef(w: Arr, D: number, ids: ArrayLike<number>): Float64Array {
  const out = new Float64Array(ids.length * D);
  for (let t = 0; t < ids.length; t++) for (let j = 0; j < D; j++) out[t * D + j] = w[ids[t] * D + j];
  return out;
}

export function embeddingBackwardRef(dy: Arr, D: number, ids: ArrayLike<number>, V: number): Float64Array {
  const dw = new Float64Array(V * D);
  for (let t = 0; t < ids.length; t++) for (let j = 0; j < D; j++) dw[ids[t] * D + j] += dy[t * D + j];
  return dw;
}

// ---------------------------------------------------------------------------------------------
// RMSNorm
// ---------------------------------------------------------------------------------------------

export function rmsNormRef(x: Arr, w: Arr, T: number, D: number, eps: number): { y: Float64Array; rstd: Float64Array } {
  const y = new Float64Array(T * D);
  const rstd = new Float64Array(T);
  for (let t = 0; t < T; t++) {
    let ss = 0;
    for (let j = 0; j < D; j++) ss += x[t * D + j] ** 2;
    const r = 1 / Math.sqrt(ss / D + eps);
    rstd[t] = r;
    for (let j = 0; j < D; j++) y[t * D + j] = x[t * D + j] * r * w[j];
  }
  return { y, rstd };
}

/** dx = r (g - x r^2 mean(g x)), g = dy w; dw_j = sum_t dy x r. rstd recomputed from x unless given. */
export function rmsNormBackwardRef(
  dy: Arr,
  x: Arr,
  w: Arr,
  T: number,
  D: number,
  eps: number,
  rstdGiven?: Arr,
): { dx: Float64Array; dw: Float64Array } {
  const rstd = rstdGiven ?? rmsNormRef(x, w, T, D, eps).rstd;
  const dx = new Float64Array(T * D);
  const dw = new Float64Array(D);
  for (let t = 0; t < T; t++) {
    const r = rstd[t];
    let m = 0;
    for (let j = 0; j < D; j++) m += dy[t * D + j] * w[j] * x[t * D + j];
    m /= D;
    for (let j = 0; j < D; j++) {
      dx[t * D + j] = r * (dy[t * D + j] * w[j] - x[t * D + j] * r * r * m);
      dw[j] += dy[t * D + j] * x[t * D + j] * r;
    }
  }
  return { dx, dw };
}

// ---------------------------------------------------------------------------------------------
// RoPE
// ---------------------------------------------------------------------------------------------

export interface RopeRefOptions {
  theta: number;
  interleave: boolean;
  inverse?: boolean;
}

export function ropeRef(x: Arr, T: number, H: number, d: number, pos: ArrayLike<number>, o: RopeRefOptions): Float64Array {
  const out = Float64Array.from(x);
  const half = d / 2;
  const sign = o.inverse ? -1 : 1;
  for (let t = 0; t < T; t++) {
    for (let i = 0; i < half; i++) {
      const angle = pos[t] * Math.pow(o.theta, (-2 * i) / d);
      const c = Math.cos(angle);
      const s = sign * Math.sin(angle);
      for (let h = 0; h < H; h++) {
        const base = (t * H + h) * d;
        const ia = base + (o.interleave ? 2 * i : i);
        const ib = base + (o.interleave ? 2 * i + 1 : i + half);
        const a = x[ia];
        const b = x[ib];
        out[ia] = a * c - b * s;
        out[ib] = a * s + b * c;
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Attention: q, k [B,S,H,dk], v [B,S,H,dv], out [B,S,H,dv], lse [B,H,S]
// ---------------------------------------------------------------------------------------------

export interface AttnDims {
  B: number;
  S: number;
  H: number;
  dk: number;
  dv: number;
}

function idx(b: number, s: number, h: number, S: number, H: number, d: number): number {
  return ((b * S + s) * H + h) * d;
}

export function attentionRef(
  q: Arr,
  k: Arr,
  v: Arr,
  { B, S, H, dk, dv }: AttnDims,
  scale: number,
  causal: boolean,
): { out: Float64Array; lse: Float64Array } {
  const out = new Float64Array(B * S * H * dv);
  const lse = new Float64Array(B * H * S);
  const p = new Float64Array(S);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      for (let i = 0; i < S; i++) {
        const lim = causal ? i + 1 : S;
        let m = -Infinity;
        for (let j = 0; j < lim; j++) {
          let s = 0;
          for (let c = 0; c < dk; c++) s += q[idx(b, i, h, S, H, dk) + c] * k[idx(b, j, h, S, H, dk) + c];
          p[j] = scale * s;
          m = Math.max(m, p[j]);
        }
        let sum = 0;
        for (let j = 0; j < lim; j++) sum += Math.exp(p[j] - m);
        lse[(b * H + h) * S + i] = m + Math.log(sum);
        for (let j = 0; j < lim; j++) {
          const pj = Math.exp(p[j] - m) / sum;
          for (let c = 0; c < dv; c++) out[idx(b, i, h, S, H, dv) + c] += pj * v[idx(b, j, h, S, H, dv) + c];
        }
      }
    }
  }
  return { out, lse };
}

/**
 * P = softmax rows, dP_ij = dout_i.v_j, dS = P (dP - D_i) with D_i = dout_i.out_i;
 * dq = scale dS k, dk = scale dSᵀ q, dv = Pᵀ dout. `out` defaults to the exact forward's.
 */
export function attentionBackwardRef(
  dout: Arr,
  q: Arr,
  k: Arr,
  v: Arr,
  dims: AttnDims,
  scale: number,
  causal: boolean,
  outGiven?: Arr,
): { dq: Float64Array; dk: Float64Array; dv: Float64Array } {
  const { B, S, H, dk, dv } = dims;
  const fwd = attentionRef(q, k, v, dims, scale, causal);
  const out = outGiven ?? fwd.out;
  const dq = new Float64Array(q.length);
  const dK = new Float64Array(k.length);
  const dV = new Float64Array(v.length);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      for (let i = 0; i < S; i++) {
        const lim = causal ? i + 1 : S;
        const qi = idx(b, i, h, S, H, dk);
        const oi = idx(b, i, h, S, H, dv);
        let Di = 0;
        for (let c = 0; c < dv; c++) Di += dout[oi + c] * out[oi + c];
        const lse = fwd.lse[(b * H + h) * S + i];
        for (let j = 0; j < lim; j++) {
          const kj = idx(b, j, h, S, H, dk);
          const vj = idx(b, j, h, S, H, dv);
          let s = 0;
          for (let c = 0; c < dk; c++) s += q[qi + c] * k[kj + c];
          const p = Math.exp(scale * s - lse);
          let dp = 0;
          for (let c = 0; c < dv; c++) dp += dout[oi + c] * v[vj + c];
          const ds = p * (dp - Di);
          for (let c = 0; c < dk; c++) {
            dq[qi + c] += scale * ds * k[kj + c];
            dK[kj + c] += scale * ds * q[qi + c];
          }
          for (let c = 0; c < dv; c++) dV[vj + c] += p * dout[oi + c];
        }
      }
    }
  }
  return { dq, dk: dK, dv: dV };
}

// ---------------------------------------------------------------------------------------------
// SwiGLU
// ---------------------------------------------------------------------------------------------

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

export function swigluRef(g: Arr, u: Arr): Float64Array {
  const y = new Float64Array(g.length);
  for (let i = 0; i < g.length; i++) y[i] = g[i] * sigmoid(g[i]) * u[i];
  return y;
}

export function swigluBackwardRef(dy: Arr, g: Arr, u: Arr): { dgate: Float64Array; dup: Float64Array } {
  const dgate = new Float64Array(g.length);
  const dup = new Float64Array(g.length);
  for (let i = 0; i < g.length; i++) {
    const s = sigmoid(g[i]);
    dgate[i] = dy[i] * u[i] * s * (1 + g[i] * (1 - s));
    dup[i] = dy[i] * g[i] * s;
  }
  return { dgate, dup };
}

// ---------------------------------------------------------------------------------------------
// Cross-entropy
// ---------------------------------------------------------------------------------------------

export function crossEntropyRef(logits: Arr, T: number, V: number, targets: ArrayLike<number>): { loss: number; count: number; lse: Float64Array } {
  const lse = new Float64Array(T);
  let total = 0;
  let count = 0;
  for (let t = 0; t < T; t++) {
    let m = -Infinity;
    for (let j = 0; j < V; j++) m = Math.max(m, logits[t * V + j]);
    let s = 0;
    for (let j = 0; j < V; j++) s += Math.exp(logits[t * V + j] - m);
    lse[t] = m + Math.log(s);
    if (targets[t] >= 0) {
      total += lse[t] - logits[t * V + targets[t]];
      count++;
    }
  }
  return { loss: count > 0 ? total / count : 0, count, lse };
}

export function crossEntropyBackwardRef(logits: Arr, T: number, V: number, targets: ArrayLike<number>, scale: number): Float64Array {
  const { lse } = crossEntropyRef(logits, T, V, targets);
  const d = new Float64Array(T * V);
  for (let t = 0; t < T; t++) {
    if (targets[t] < 0) continue;
    for (let j = 0; j < V; j++) d[t * V + j] = scale * (Math.exp(logits[t * V + j] - lse[t]) - (j === targets[t] ? 1 : 0));
  }
  return d;
}

// ---------------------------------------------------------------------------------------------
// MoE routing
// ---------------------------------------------------------------------------------------------

export interface RouteRefOptions {
  topK: number;
  normTopk: boolean;
  scalingFactor: number;
  nGroup: number;
  topkGroup: number;
}

/** Indices of the n largest values among `allowed` (descending; ties to the lower index). */
function topIndices(c: Arr, n: number, allowed: (j: number) => boolean): number[] {
  const idxs: number[] = [];
  for (let j = 0; j < c.length; j++) if (allowed(j)) idxs.push(j);
  idxs.sort((a, b) => (c[b] !== c[a] ? c[b] - c[a] : a - b));
  return idxs.slice(0, n);
}

/**
 * DeepSeek-V3 noaux_tc routing in float64. `margin` is the smallest gap between two values whose
 * order decides the selection (choice values and group scores), to reject near-ties.
 */
export function moeRouteRef(
  logits: Arr,
  bias: Arr,
  T: number,
  E: number,
  o: RouteRefOptions,
): { experts: Int32Array; weights: Float64Array; scores: Float64Array; margin: number } {
  const K = o.topK;
  const experts = new Int32Array(T * K);
  const weights = new Float64Array(T * K);
  const scores = new Float64Array(T * E);
  let margin = Infinity;
  const gapOf = (vals: number[]) => {
    const s = [...vals].sort((a, b) => b - a);
    for (let i = 1; i < s.length; i++) margin = Math.min(margin, s[i - 1] - s[i]);
  };
  const gs = E / o.nGroup;
  for (let t = 0; t < T; t++) {
    const c = new Float64Array(E);
    for (let e = 0; e < E; e++) {
      scores[t * E + e] = sigmoid(logits[t * E + e]);
      c[e] = scores[t * E + e] + bias[e];
    }
    gapOf(Array.from(c));
    let keep = (_e: number) => true;
    if (o.nGroup > 1) {
      const gscore = new Float64Array(o.nGroup);
      for (let g = 0; g < o.nGroup; g++) {
        const top = Array.from(c.slice(g * gs, (g + 1) * gs)).sort((a, b) => b - a);
        gscore[g] = top[0] + (gs >= 2 ? top[1] : 0);
      }
      gapOf(Array.from(gscore));
      const kept = new Set(topIndices(gscore, o.topkGroup, () => true));
      keep = (e) => kept.has(Math.floor(e / gs));
    }
    const chosen = topIndices(c, K, keep);
    let sum = 0;
    for (const e of chosen) sum += scores[t * E + e];
    chosen.forEach((e, k) => {
      experts[t * K + k] = e;
      weights[t * K + k] = (o.normTopk ? scores[t * E + e] / (sum + 1e-20) : scores[t * E + e]) * o.scalingFactor;
    });
  }
  return { experts, weights, scores, margin };
}

/** The route weights as a function of the logits, with the chosen experts fixed (for finite differences). */
export function routeWeightsRef(logits: Arr, experts: ArrayLike<number>, T: number, E: number, K: number, normTopk: boolean, sf: number): Float64Array {
  const w = new Float64Array(T * K);
  for (let t = 0; t < T; t++) {
    let sum = 0;
    for (let k = 0; k < K; k++) sum += sigmoid(logits[t * E + experts[t * K + k]]);
    for (let k = 0; k < K; k++) {
      const s = sigmoid(logits[t * E + experts[t * K + k]]);
      w[t * K + k] = (normTopk ? s / (sum + 1e-20) : s) * sf;
    }
  }
  return w;
}

export function moeRouteBackwardRef(dw: Arr, scores: Arr, experts: ArrayLike<number>, T: number, E: number, K: number, normTopk: boolean, sf: number): Float64Array {
  const d = new Float64Array(T * E);
  for (let t = 0; t < T; t++) {
    let sum = 0;
    let dotv = 0;
    for (let k = 0; k < K; k++) {
      const s = scores[t * E + experts[t * K + k]];
      sum += s;
      dotv += dw[t * K + k] * s;
    }
    const den = sum + 1e-20;
    for (let k = 0; k < K; k++) {
      const e = experts[t * K + k];
      const s = scores[t * E + e];
      const ds = normTopk ? sf * (dw[t * K + k] / den - dotv / (den * den)) : sf * dw[t * K + k];
      d[t * E + e] += ds * s * (1 - s);
    }
  }
  return d;
}

/** Stable sort of the flat slots t*K+slot by expert. */
export function moePermuteRef(x: Arr, T: number, D: number, experts: ArrayLike<number>, E: number): { xs: Float64Array; groupSizes: number[]; order: number[] } {
  const N = experts.length;
  const K = T > 0 ? N / T : 0;
  const order = Array.from({ length: N }, (_, f) => f).sort((a, b) => experts[a] - experts[b] || a - b);
  const groupSizes = new Array<number>(E).fill(0);
  for (let f = 0; f < N; f++) groupSizes[experts[f]]++;
  const xs = new Float64Array(N * D);
  order.forEach((f, r) => {
    const t = Math.floor(f / K);
    for (let j = 0; j < D; j++) xs[r * D + j] = x[t * D + j];
  });
  return { xs, groupSizes, order };
}

function rowsOf(order: ArrayLike<number>): number[] {
  const rows = new Array<number>(order.length);
  for (let r = 0; r < order.length; r++) rows[order[r]] = r;
  return rows;
}

export function moeUnpermuteRef(ys: Arr, order: ArrayLike<number>, w: Arr, T: number, K: number, D: number): Float64Array {
  const rows = rowsOf(order);
  const y = new Float64Array(T * D);
  for (let t = 0; t < T; t++) for (let k = 0; k < K; k++) for (let j = 0; j < D; j++) y[t * D + j] += w[t * K + k] * ys[rows[t * K + k] * D + j];
  return y;
}

export function moeUnpermuteBackwardRef(dy: Arr, ys: Arr, order: ArrayLike<number>, w: Arr, T: number, K: number, D: number): { dys: Float64Array; dweights: Float64Array } {
  const rows = rowsOf(order);
  const dys = new Float64Array(T * K * D);
  const dweights = new Float64Array(T * K);
  for (let t = 0; t < T; t++) {
    for (let k = 0; k < K; k++) {
      const r = rows[t * K + k];
      for (let j = 0; j < D; j++) {
        dys[r * D + j] = w[t * K + k] * dy[t * D + j];
        dweights[t * K + k] += dy[t * D + j] * ys[r * D + j];
      }
    }
  }
  return { dys, dweights };
}

export function moePermuteBackwardRef(dxs: Arr, order: ArrayLike<number>, K: number, D: number): Float64Array {
  const T = order.length / K;
  const rows = rowsOf(order);
  const dx = new Float64Array(T * D);
  for (let t = 0; t < T; t++) for (let k = 0; k < K; k++) for (let j = 0; j < D; j++) dx[t * D + j] += dxs[rows[t * K + k] * D + j];
  return dx;
}

/** DeepSeek-V3 sequence-wise balance loss; f counts the chosen experts per sequence. */
export function seqAuxLossRef(scores: Arr, experts: ArrayLike<number>, B: number, S: number, E: number, K: number, alpha: number): number {
  let total = 0;
  for (let b = 0; b < B; b++) {
    const f = new Float64Array(E);
    for (let i = b * S * K; i < (b + 1) * S * K; i++) f[experts[i]] += E / (K * S);
    const P = new Float64Array(E);
    for (let t = b * S; t < (b + 1) * S; t++) {
      let z = 0;
      for (let e = 0; e < E; e++) z += scores[t * E + e];
      for (let e = 0; e < E; e++) P[e] += scores[t * E + e] / z / S;
    }
    total += dot(f, P);
  }
  return (alpha * total) / B;
}

export function seqAuxLossGradRef(scores: Arr, experts: ArrayLike<number>, B: number, S: number, E: number, K: number, alpha: number): Float64Array {
  const d = new Float64Array(B * S * E);
  for (let b = 0; b < B; b++) {
    const f = new Float64Array(E);
    for (let i = b * S * K; i < (b + 1) * S * K; i++) f[experts[i]] += E / (K * S);
    for (let t = b * S; t < (b + 1) * S; t++) {
      let z = 0;
      let fs = 0;
      for (let e = 0; e < E; e++) {
        z += scores[t * E + e];
        fs += f[e] * scores[t * E + e];
      }
      for (let e = 0; e < E; e++) d[t * E + e] = ((alpha / B) * (f[e] / z - fs / (z * z))) / S;
    }
  }
  return d;
}

// ---------------------------------------------------------------------------------------------
// Optimizer updates (float64, in place on the arrays given)
// ---------------------------------------------------------------------------------------------

export interface AdamWRefOptions {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  step: number;
}

export function adamwRef(p: Float64Array, g: Arr, m: Float64Array, v: Float64Array, o: AdamWRefOptions): void {
  const bc1 = 1 - o.beta1 ** o.step;
  const bc2 = 1 - o.beta2 ** o.step;
  for (let i = 0; i < p.length; i++) {
    p[i] *= 1 - o.lr * o.weightDecay;
    m[i] = o.beta1 * m[i] + (1 - o.beta1) * g[i];
    v[i] = o.beta2 * v[i] + (1 - o.beta2) * g[i] * g[i];
    p[i] -= (o.lr * (m[i] / bc1)) / (Math.sqrt(v[i] / bc2) + o.eps);
  }
}

/** m = mu m + g in place; returns g + mu m (nesterov) or a copy of m. */
export function muonMomentumRef(m: Float64Array, g: Arr, mu: number, nesterov: boolean): Float64Array {
  const u = new Float64Array(m.length);
  for (let i = 0; i < m.length; i++) {
    m[i] = mu * m[i] + g[i];
    u[i] = nesterov ? g[i] + mu * m[i] : m[i];
  }
  return u;
}

export function muonApplyRef(p: Float64Array, u: Arr, lr: number, wd: number, scale: number): void {
  for (let i = 0; i < p.length; i++) p[i] = p[i] * (1 - lr * wd) - lr * scale * u[i];
}

// ---------------------------------------------------------------------------------------------
// Tolerances
// ---------------------------------------------------------------------------------------------

/** Relative Frobenius tolerance of the nn ops against float64 from the rounded inputs. */
export const NN_TOL = { f32: 1e-5, bf16: 1e-2 } as const;
/** Analytic float64 backward against central finite differences of the float64 forward. */
export const FD_TOL = 1e-6;
