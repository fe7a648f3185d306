// Float64 reference implementations and test utilities for moontrain's op tests.
//
// Everything here is plain, readable TypeScript over Float64Array (row-major). The
// references are deliberately naive: they are the specification the native kernels are
// checked against (NS5 as in docs/model-and-optimizers.md; its reference cases in docs/testing.md).

// ---------------------------------------------------------------------------------------------
// bf16 rounding
// ---------------------------------------------------------------------------------------------

const f32View = new Float32Array(1);
const u32View = new Uint32Array(f32View.buffer);

/**
 * Round a number to bf16 (round to nearest, ties to even) and return it as a number.
 * The value is first converted to float32 (as storing it in a Float32Array does), then the
 * low 16 bits of the float32 pattern are rounded away. NaN stays NaN, +-Inf stay +-Inf, and
 * finite values above the largest bf16 round to +-Inf as RNE requires.
 */
export function bf16Round(x: number): number {
  f32View[0] = x;
  const u = u32View[0];
  if ((u & 0x7f800000) === 0x7f800000 && (u & 0x007fffff) !== 0) {
    return Number.NaN; // NaN: keep it NaN (rounding the payload could turn it into Inf)
  }
  const lsb = (u >>> 16) & 1;
  u32View[0] = ((u + 0x7fff + lsb) >>> 0) & 0xffff0000;
  return f32View[0];
}

/** bf16-round every element (returns a new array). */
export function bf16RoundArray(a: ArrayLike<number>): Float64Array {
  const out = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = bf16Round(a[i]);
  return out;
}

/** float32-round every element (returns a new array). */
export function f32RoundArray(a: ArrayLike<number>): Float64Array {
  const out = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = Math.fround(a[i]);
  return out;
}

/** The raw 32-bit pattern of a float32 value (for bitwise comparisons and messages). */
export function f32Bits(x: number): number {
  f32View[0] = x;
  return u32View[0];
}

// ---------------------------------------------------------------------------------------------
// Seeded random numbers
// ---------------------------------------------------------------------------------------------

export type Rng = () => number;

/** mulberry32: a small, fast, seedable 32-bit PRNG returning floats in [0, 1). */
export function mulberry32(seed: number): Rng {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A standard normal sample (Box-Muller). */
export function normal(rng: Rng): number {
  let u = rng();
  while (u <= 1e-300) u = rng();
  const v = rng();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** n standard normal samples as a Float32Array, optionally scaled. */
export function randn(rng: Rng, n: number, scale = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = normal(rng) * scale;
  return out;
}

/** Integer uniformly in [lo, hi] (inclusive). */
export function randInt(rng: Rng, lo: number, hi: number): number {
  return lo + Math.floor(rng() * (hi - lo + 1));
}

/** A uniformly chosen element. */
export function pick<T>(rng: Rng, items: readonly T[]): T {
  return items[Math.floor(rng() * items.length)];
}

/**
 * Group sizes for T tokens over E experts, Zipf distributed: expert ranks follow a random
 * permutation, and a token goes to the expert of rank r with probability proportional to
 * 1 / r^s. The result has length E and sums to T; some groups are usually empty when T is
 * small relative to E.
 */
export function zipfGroupSizes(rng: Rng, T: number, E: number, s = 1.2): number[] {
  if (E <= 0) throw new Error('zipfGroupSizes: E must be positive');
  const perm = Array.from({ length: E }, (_, i) => i);
  for (let i = E - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [perm[i], perm[j]] = [perm[j], perm[i]];
  }
  const weights = perm.map((r) => 1 / Math.pow(r + 1, s));
  const total = weights.reduce((p, q) => p + q, 0);
  const cdf: number[] = [];
  let acc = 0;
  for (const w of weights) {
    acc += w / total;
    cdf.push(acc);
  }
  const sizes = new Array<number>(E).fill(0);
  for (let t = 0; t < T; t++) {
    const u = rng();
    let e = 0;
    while (e < E - 1 && u >= cdf[e]) e++;
    sizes[e]++;
  }
  return sizes;
}

// ---------------------------------------------------------------------------------------------
// Dense linear algebra (row-major Float64Array)
// ---------------------------------------------------------------------------------------------

/** Transpose of an [r, c] matrix -> [c, r]. */
export function transpose(a: ArrayLike<number>, r: number, c: number): Float64Array {
  const out = new Float64Array(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[j * r + i] = a[i * c + j];
  return out;
}

/**
 * op(a) [m,k] . op(b) [k,n] -> [m,n] in float64.
 * transA: a is stored [k,m]; transB: b is stored [n,k].
 */
export function matmulRef(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  m: number,
  k: number,
  n: number,
  transA = false,
  transB = false,
): Float64Array {
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) {
        const av = transA ? a[p * m + i] : a[i * k + p];
        const bv = transB ? b[j * k + p] : b[p * n + j];
        s += av * bv;
      }
      out[i * n + j] = s;
    }
  }
  return out;
}

/**
 * Grouped matmul: x [T,K] with rows sorted by group, w [E,K,N] (or [E,N,K] with transB)
 * -> out [T,N]; rows of group e are x_e . w[e] (or x_e . w[e]^T).
 */
export function groupedMatmulRef(
  x: ArrayLike<number>,
  w: ArrayLike<number>,
  groupSizes: ArrayLike<number>,
  K: number,
  N: number,
  transB = false,
): Float64Array {
  let T = 0;
  for (let e = 0; e < groupSizes.length; e++) T += groupSizes[e];
  const out = new Float64Array(T * N);
  let row = 0;
  for (let e = 0; e < groupSizes.length; e++) {
    const base = e * K * N;
    for (let r = 0; r < groupSizes[e]; r++, row++) {
      for (let j = 0; j < N; j++) {
        let s = 0;
        for (let p = 0; p < K; p++) {
          const wv = transB ? w[base + j * K + p] : w[base + p * N + j];
          s += x[row * K + p] * wv;
        }
        out[row * N + j] = s;
      }
    }
  }
  return out;
}

/** Grouped weight gradient: x [T,K], dy [T,N] -> [E,K,N], out[e] = x_e^T . dy_e. */
export function groupedWeightGradRef(
  x: ArrayLike<number>,
  dy: ArrayLike<number>,
  groupSizes: ArrayLike<number>,
  K: number,
  N: number,
): Float64Array {
  const E = groupSizes.length;
  const out = new Float64Array(E * K * N);
  let row0 = 0;
  for (let e = 0; e < E; e++) {
    const g = groupSizes[e];
    for (let p = 0; p < K; p++) {
      for (let j = 0; j < N; j++) {
        let s = 0;
        for (let r = row0; r < row0 + g; r++) s += x[r * K + p] * dy[r * N + j];
        out[e * K * N + p * N + j] = s;
      }
    }
    row0 += g;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Newton-Schulz
// ---------------------------------------------------------------------------------------------

export type Triple = [number, number, number];

export const KELLER: Triple = [3.4445, -4.775, 2.0315];

/** The 'You' / leloykun 5-step schedule (docs/model-and-optimizers.md). */
export const YOU_COEFFS: Triple[] = [
  [4.0848, -6.8946, 2.927],
  [3.9505, -6.3029, 2.6377],
  [3.7418, -5.5913, 2.3037],
  [2.8769, -3.1427, 1.2046],
  [2.8366, -3.0525, 1.2012],
];

/** Polar Express (modded-nanogpt / dion) 5-step schedule (docs/model-and-optimizers.md). */
export const PE_MODDED_COEFFS: Triple[] = [
  [8.156554524902461, -22.48329292557795, 15.878769915207462],
  [4.042929935166739, -2.808917465908714, 0.5000178451051316],
  [3.8916678022926607, -2.772484153217685, 0.5060648178503393],
  [3.285753657755655, -2.3681294933425376, 0.46449024233003106],
  [2.3465413258596377, -1.7097828382687081, 0.42323551169305323],
];

export interface NsOptions {
  steps?: number;
  coefficients?: Triple | Triple[];
  eps?: number;
}

function isTripleList(c: Triple | Triple[]): c is Triple[] {
  return Array.isArray(c[0]);
}

/** The coefficient triple used at each step. */
export function nsSchedule(opts: NsOptions = {}): Triple[] {
  const c = opts.coefficients ?? KELLER;
  if (isTripleList(c)) {
    const steps = opts.steps ?? c.length;
    if (steps !== c.length) throw new Error('nsSchedule: steps != coefficients.length');
    return c;
  }
  const steps = opts.steps ?? 5;
  return Array.from({ length: steps }, () => c as Triple);
}

/** Frobenius norm. */
export function frob(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * a[i];
  return Math.sqrt(s);
}

/**
 * Newton-Schulz (NS5) in float64 for one [m,n] matrix. If m > n the matrix is
 * transposed first and the result transposed back. Returns an [m,n] Float64Array.
 */
export function newtonSchulzRef(x: ArrayLike<number>, m: number, n: number, opts: NsOptions = {}): Float64Array {
  const eps = opts.eps ?? 1e-7;
  const schedule = nsSchedule(opts);
  const tall = m > n;
  const r = tall ? n : m;
  const c = tall ? m : n;
  let X = tall ? transpose(x, m, n) : Float64Array.from(x);
  const norm = frob(X);
  for (let i = 0; i < X.length; i++) X[i] = X[i] / (norm + eps);
  for (const [a, b, cc] of schedule) {
    const A = matmulRef(X, X, r, c, r, false, true); // X X^T
    const AA = matmulRef(A, A, r, r, r);
    const B = new Float64Array(r * r);
    for (let i = 0; i < B.length; i++) B[i] = b * A[i] + cc * AA[i];
    const BX = matmulRef(B, X, r, r, c);
    const next = new Float64Array(r * c);
    for (let i = 0; i < next.length; i++) next[i] = a * X[i] + BX[i];
    X = next;
  }
  return tall ? transpose(X, r, c) : X;
}

/** fp32-accumulated product, each output then passed through `round`. */
function matmulF32(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  m: number,
  k: number,
  n: number,
  transB: boolean,
  round: (v: number) => number,
): Float64Array {
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) {
        const bv = transB ? b[j * k + p] : b[p * n + j];
        s = Math.fround(s + Math.fround(a[i * k + p] * bv));
      }
      out[i * n + j] = round(s);
    }
  }
  return out;
}

/**
 * Newton-Schulz emulating bf16 storage: the input is bf16-rounded, the normalization is done
 * in fp32 and rounded to bf16, and every product (A = X X^T, A A, B X) accumulates in fp32
 * (Math.fround) and is rounded to bf16 (RNE); B = b A + c AA and X = a X + B X are formed in
 * fp32 and rounded to bf16 as well. Returns an [m,n] Float64Array of bf16 values.
 */
export function newtonSchulzBf16Ref(x: ArrayLike<number>, m: number, n: number, opts: NsOptions = {}): Float64Array {
  const eps = opts.eps ?? 1e-7;
  const schedule = nsSchedule(opts);
  const tall = m > n;
  const r = tall ? n : m;
  const c = tall ? m : n;
  let X = bf16RoundArray(tall ? transpose(x, m, n) : x);
  let ss = 0;
  for (let i = 0; i < X.length; i++) ss = Math.fround(ss + Math.fround(X[i] * X[i]));
  const denom = Math.fround(Math.fround(Math.sqrt(ss)) + Math.fround(eps));
  for (let i = 0; i < X.length; i++) X[i] = bf16Round(Math.fround(X[i] / denom));
  for (const [a, b, cc] of schedule) {
    const fa = Math.fround(a);
    const fb = Math.fround(b);
    const fc = Math.fround(cc);
    const A = matmulF32(X, X, r, c, r, true, bf16Round);
    const AA = matmulF32(A, A, r, r, r, false, Math.fround);
    const B = new Float64Array(r * r);
    for (let i = 0; i < B.length; i++) B[i] = bf16Round(Math.fround(Math.fround(fb * A[i]) + Math.fround(fc * AA[i])));
    const BX = matmulF32(B, X, r, r, c, false, Math.fround);
    const next = new Float64Array(r * c);
    for (let i = 0; i < next.length; i++) next[i] = bf16Round(Math.fround(Math.fround(fa * X[i]) + BX[i]));
    X = next;
  }
  return tall ? transpose(X, r, c) : X;
}

/** The scalar polynomial a x + b x^3 + c x^5. */
export function nsPoly(x: number, [a, b, c]: Triple = KELLER): number {
  return a * x + b * x * x * x + c * x * x * x * x * x;
}

// ---------------------------------------------------------------------------------------------
// Singular values and error measures
// ---------------------------------------------------------------------------------------------

/** Eigenvalues of a symmetric [n,n] matrix by cyclic Jacobi (descending). */
export function symmetricEigenvalues(s: ArrayLike<number>, n: number): number[] {
  const A = Float64Array.from(s);
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    let diag = 0;
    for (let i = 0; i < n; i++) {
      diag += A[i * n + i] * A[i * n + i];
      for (let j = i + 1; j < n; j++) off += A[i * n + j] * A[i * n + j];
    }
    if (off <= 1e-30 * diag || off === 0) break;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = A[p * n + q];
        if (apq === 0) continue;
        const app = A[p * n + p];
        const aqq = A[q * n + q];
        const theta = (aqq - app) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const cs = 1 / Math.sqrt(t * t + 1);
        const sn = t * cs;
        for (let k = 0; k < n; k++) {
          const akp = A[k * n + p];
          const akq = A[k * n + q];
          A[k * n + p] = cs * akp - sn * akq;
          A[k * n + q] = sn * akp + cs * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = A[p * n + k];
          const aqk = A[q * n + k];
          A[p * n + k] = cs * apk - sn * aqk;
          A[q * n + k] = sn * apk + cs * aqk;
        }
      }
    }
  }
  const ev: number[] = [];
  for (let i = 0; i < n; i++) ev.push(A[i * n + i]);
  return ev.sort((x, y) => y - x);
}

/** Singular values (descending) of an [m,n] matrix: sqrt of the eigenvalues of the smaller Gram matrix. */
export function singularValues(a: ArrayLike<number>, m: number, n: number): number[] {
  const small = Math.min(m, n);
  if (small === 0) return [];
  const G = m <= n ? matmulRef(a, a, m, n, m, false, true) : matmulRef(a, a, n, m, n, true, false);
  return symmetricEigenvalues(G, small).map((v) => Math.sqrt(Math.max(0, v)));
}

/** ||got - ref||_F / ||ref||_F (absolute Frobenius error when ref is zero). */
export function relFrobError(got: ArrayLike<number>, ref: ArrayLike<number>): number {
  if (got.length !== ref.length) return Number.POSITIVE_INFINITY;
  let num = 0;
  let den = 0;
  for (let i = 0; i < ref.length; i++) {
    const d = got[i] - ref[i];
    num += d * d;
    den += ref[i] * ref[i];
  }
  if (Number.isNaN(num)) return Number.NaN;
  return den === 0 ? Math.sqrt(num) : Math.sqrt(num / den);
}

/** max_i |got_i - ref_i| (Infinity on a length mismatch, NaN if any NaN). */
export function maxAbsDiff(got: ArrayLike<number>, ref: ArrayLike<number>): number {
  if (got.length !== ref.length) return Number.POSITIVE_INFINITY;
  let m = 0;
  for (let i = 0; i < ref.length; i++) {
    const d = Math.abs(got[i] - ref[i]);
    if (Number.isNaN(d)) return Number.NaN;
    if (d > m) m = d;
  }
  return m;
}

/** True when every element is finite. */
export function allFinite(a: ArrayLike<number>): boolean {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i])) return false;
  return true;
}

/** Index of the first element whose bit pattern differs, or -1 when bitwise identical. */
export function firstBitwiseDifference(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return 0;
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) return i;
  return -1;
}

export { numel } from '../../lib/shape';

/** Short numeric formatting for assertion messages. */
export function fmt(x: number): string {
  return Number.isFinite(x) ? x.toExponential(3) : String(x);
}

/** Format a list of numbers compactly. */
export function fmtList(xs: ArrayLike<number>, digits = 6): string {
  return '[' + Array.from(xs, (v) => v.toFixed(digits)).join(', ') + ']';
}

// ---------------------------------------------------------------------------------------------
// The deterministic matrices G1, G2, W0 of the reference cases (docs/testing.md)
// ---------------------------------------------------------------------------------------------

/** G1[i][j] = ((7i + 13j + 5) mod 17) - 8, 4x8. */
export function g1(): Float64Array {
  const out = new Float64Array(32);
  for (let i = 0; i < 4; i++) for (let j = 0; j < 8; j++) out[i * 8 + j] = ((7 * i + 13 * j + 5) % 17) - 8;
  return out;
}

/** G2[i][j] = ((3i + 5j + 2) mod 11) - 5, 4x8. */
export function g2(): Float64Array {
  const out = new Float64Array(32);
  for (let i = 0; i < 4; i++) for (let j = 0; j < 8; j++) out[i * 8 + j] = ((3 * i + 5 * j + 2) % 11) - 5;
  return out;
}

/** sin(8i + j + 1), 4x8: rank 2. */
export function sinMatrix(): Float64Array {
  const out = new Float64Array(32);
  for (let i = 0; i < 4; i++) for (let j = 0; j < 8; j++) out[i * 8 + j] = Math.sin(i * 8 + j + 1);
  return out;
}
