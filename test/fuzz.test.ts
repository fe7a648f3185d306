// Seeded random calls mixing valid and invalid shapes, dtypes, group sizes, options and
// non-tensor values for every op. Each call must either return a result that matches the fp64
// reference, or throw an Error with code ERR_MOONTRAIN_INVALID_ARGUMENT naming the op. Where
// the contract is clear the expected outcome is enforced (a valid call must succeed, an invalid
// one must throw); where it is not (zero-size matrices, odd option values) either is accepted.
import test, { ExecutionContext } from 'ava';
import { tensor, ops, debug, Tensor } from '../lib';
import {
  bf16Round,
  groupedMatmulRef,
  groupedWeightGradRef,
  matmulRef,
  mulberry32,
  newtonSchulzBf16Ref,
  newtonSchulzRef,
  NsOptions,
  numel,
  pick,
  randInt,
  randn,
  relFrobError,
  Rng,
  Triple,
  YOU_COEFFS,
  zipfGroupSizes,
  fmt,
} from './helpers/ref';
import { DType, GEMM_TOL, NS_TOL, reEscape } from './helpers/util';

debug.poisonAllocations(true);

/** Extra seed (MOONTRAIN_FUZZ_SEED=n) to explore beyond the fixed default sequence. */
const EXTRA_SEED = Number(process.env.MOONTRAIN_FUZZ_SEED ?? 0) >>> 0;

type Expect = 'valid' | 'invalid' | 'either';

interface Operand {
  value: unknown;
  ok: boolean; // a live tensor
  desc: string;
  v?: Float64Array;
}

const JUNK: [string, () => unknown][] = [
  ['null', () => null],
  ['undefined', () => undefined],
  ['3', () => 3],
  ["'x'", () => 'x'],
  ['{}', () => ({})],
  ['{shape}', () => ({ shape: [2, 2], dtype: 'f32', disposed: false })],
  ['Float32Array', () => new Float32Array(4)],
  ['[]', () => []],
];

/** A tensor operand of the given shape, or (with probability pBad) junk or a disposed tensor. */
function operand(rng: Rng, shape: number[], dtype: DType, pBad: number): Operand {
  const r = rng();
  if (r < pBad / 2) {
    const [name, make] = pick(rng, JUNK);
    return { value: make(), ok: false, desc: name };
  }
  const data = randn(rng, numel(shape));
  const t = tensor(data, shape, { dtype });
  if (r < pBad) {
    t.dispose();
    return { value: t, ok: false, desc: `disposed ${dtype}[${shape}]` };
  }
  return { value: t, ok: true, desc: `${dtype}[${shape}]`, v: Float64Array.from(t.toFloat32Array()) };
}

function dispose(...xs: unknown[]): void {
  for (const x of xs) if (x instanceof Tensor) x.dispose();
}

function otherDtype(d: DType): DType {
  return d === 'f32' ? 'bf16' : 'f32';
}

/** Run one call; return a failure description or null. */
function runCase(
  op: string,
  desc: string,
  expect: Expect,
  call: () => unknown,
  verify: (out: unknown) => string | null,
  tally: Record<string, number>,
): string | null {
  let out: unknown;
  try {
    out = call();
  } catch (e) {
    const err = e as { code?: unknown; op?: unknown; argument?: unknown; message?: unknown };
    if (!(e instanceof Error) || err.code !== 'ERR_MOONTRAIN_INVALID_ARGUMENT') {
      return `${desc}: threw something other than an invalid-argument Error: ${String(e)}`;
    }
    tally.threw = (tally.threw ?? 0) + 1;
    if (expect === 'valid') return `${desc}: expected a result, but it threw: ${e.message}`;
    if (err.op !== op) return `${desc}: error op is ${String(err.op)}, expected ${op} (${e.message})`;
    const shape = new RegExp(`^${reEscape(op)}: argument '${reEscape(String(err.argument))}': expected .+, got .+$`, 's');
    if (!shape.test(e.message)) return `${desc}: message does not have the documented shape: ${e.message}`;
    return null;
  }
  tally.returned = (tally.returned ?? 0) + 1;
  if (expect === 'invalid') {
    dispose(out);
    return `${desc}: expected an invalid-argument error, but it returned a result`;
  }
  const failure = verify(out);
  dispose(out);
  return failure;
}

function checkTensorResult(
  out: unknown,
  shape: number[],
  dtype: DType,
  ref: Float64Array,
  tol: number,
  desc: string,
): string | null {
  if (!(out instanceof Tensor)) return `${desc}: result is not a Tensor`;
  if (JSON.stringify(out.shape) !== JSON.stringify(shape)) return `${desc}: shape [${out.shape}], expected [${shape}]`;
  if (out.dtype !== dtype) return `${desc}: dtype ${out.dtype}, expected ${dtype}`;
  const got = out.toFloat32Array();
  if (got.length !== ref.length) return `${desc}: ${got.length} elements, expected ${ref.length}`;
  for (let i = 0; i < got.length; i++) if (!Number.isFinite(got[i])) return `${desc}: non-finite output at ${i}: ${got[i]}`;
  const err = relFrobError(got, ref);
  if (!(err <= tol)) return `${desc}: relative Frobenius error ${fmt(err)} > ${fmt(tol)}`;
  return null;
}

function report(t: ExecutionContext, failures: string[], tally: Record<string, number>, n: number): void {
  t.log(`${n} calls: ${tally.returned ?? 0} returned, ${tally.threw ?? 0} threw`);
  t.true((tally.returned ?? 0) >= n / 5, `too few valid calls (${tally.returned ?? 0} of ${n}): the fuzzer is broken`);
  t.true((tally.threw ?? 0) >= n / 5, `too few invalid calls (${tally.threw ?? 0} of ${n}): the fuzzer is broken`);
  t.deepEqual(failures.slice(0, 20), [], `${failures.length} failing calls`);
}

// ---------------------------------------------------------------------------------------------

test('fuzz tensor()', (t) => {
  const rng = mulberry32(0xf00d ^ EXTRA_SEED);
  const failures: string[] = [];
  const tally: Record<string, number> = {};
  const N = 200;
  for (let i = 0; i < N; i++) {
    let expect: Expect = 'valid';
    const rank = rng() < 0.1 ? pick(rng, [0, 5]) : randInt(rng, 1, 4);
    const shape: unknown[] = Array.from({ length: rank }, () => randInt(rng, rng() < 0.1 ? 0 : 1, 5));
    if (rank === 0 || rank > 4) expect = 'invalid';
    if (rng() < 0.15 && rank > 0) {
      shape[randInt(rng, 0, rank - 1)] = pick(rng, [-1, 1.5, NaN, Infinity, '2', null, 2 ** 53, -0.5]);
      expect = 'invalid';
    }
    const n = shape.every((s) => typeof s === 'number' && Number.isInteger(s) && s >= 0 && s <= 5) ? numel(shape as number[]) : 4;
    let len = n;
    if (rng() < 0.15) {
      len = n + pick(rng, [-1, 1, 3]);
      if (len < 0) len = 1;
      if (len !== n) expect = 'invalid';
    }
    const values = Array.from(randn(rng, len, 10));
    let data: unknown = rng() < 0.5 ? Float32Array.from(values) : values;
    let dataDesc = `${data instanceof Float32Array ? 'Float32Array' : 'number[]'}(${len})`;
    if (rng() < 0.08) {
      const [name, make] = pick(rng, JUNK.filter(([nm]) => nm !== 'Float32Array' && nm !== '[]'));
      data = make();
      dataDesc = name;
      expect = 'invalid';
    }
    let options: unknown = pick(rng, [undefined, {}, { dtype: 'f32' }, { dtype: 'bf16' }, { dtype: 'bf16' }]);
    if (rng() < 0.1) {
      options = pick(rng, [{ dtype: 'f16' }, { dtype: 'float32' }, { dtype: 3 }, 5, 'bf16']);
      expect = 'invalid';
    }
    const dtype: DType = (options as { dtype?: DType } | undefined)?.dtype === 'bf16' ? 'bf16' : 'f32';
    const desc = `#${i} tensor(${dataDesc}, ${JSON.stringify(shape)}, ${JSON.stringify(options)})`;
    const f = runCase(
      'tensor',
      desc,
      expect,
      () => tensor(data as number[], shape as number[], options as { dtype?: DType }),
      (out) => {
        if (!(out instanceof Tensor)) return `${desc}: result is not a Tensor`;
        if (JSON.stringify(out.shape) !== JSON.stringify(shape)) return `${desc}: shape [${out.shape}]`;
        if (out.dtype !== dtype) return `${desc}: dtype ${out.dtype}`;
        const got = out.toFloat32Array();
        const want = values.map((v) => (dtype === 'bf16' ? bf16Round(v) : Math.fround(v)));
        for (let k = 0; k < want.length; k++) {
          if (got[k] !== want[k]) return `${desc}: element ${k} read back as ${got[k]}, expected ${want[k]}`;
        }
        return got.length === want.length ? null : `${desc}: ${got.length} elements`;
      },
      tally,
    );
    if (f) failures.push(f);
  }
  report(t, failures, tally, N);
});

test('fuzz matmul', (t) => {
  const rng = mulberry32(0xa11ce ^ EXTRA_SEED);
  const failures: string[] = [];
  const tally: Record<string, number> = {};
  const N = 200;
  for (let i = 0; i < N; i++) {
    let expect: Expect = 'valid';
    const dim = () => (rng() < 0.05 ? 0 : randInt(rng, 1, 20));
    const m = dim();
    const k = dim();
    const n = dim();
    if (m * k * n === 0) expect = 'either';
    const transA = rng() < 0.5;
    const transB = rng() < 0.5;
    const dtA: DType = rng() < 0.5 ? 'f32' : 'bf16';
    let dtB = dtA;
    if (rng() < 0.1) {
      dtB = otherDtype(dtA);
      expect = 'invalid';
    }
    let sa = transA ? [k, m] : [m, k];
    let sb = transB ? [n, k] : [k, n];
    const r = rng();
    if (r < 0.1) {
      // inner dimension mismatch
      const k2 = k + pick(rng, [1, 2, 5]);
      sb = transB ? [n, k2] : [k2, n];
      expect = 'invalid';
    } else if (r < 0.15) {
      sa = pick(rng, [[m * k], [1, ...sa], [2, ...sa]]);
      expect = 'invalid';
    } else if (r < 0.2) {
      sb = pick(rng, [[k * n], [1, ...sb], [1, 1, ...sb]]);
      expect = 'invalid';
    }
    const a = operand(rng, sa, dtA, 0.08);
    const b = operand(rng, sb, dtB, 0.08);
    if (!a.ok || !b.ok) expect = 'invalid';
    let options: unknown = { transA, transB };
    if (!transA && !transB && rng() < 0.5) options = pick(rng, [undefined, {}]);
    const ro = rng();
    if (ro < 0.05) {
      options = pick(rng, [5, 'transA']);
      expect = 'invalid';
    } else if (ro < 0.08) {
      options = { transA: pick(rng, [1, 'yes', null]), transB };
      if (expect === 'valid') expect = 'either';
    }
    const effA = (options as { transA?: unknown } | undefined)?.transA === true;
    const effB = (options as { transB?: unknown } | undefined)?.transB === true;
    const desc = `#${i} matmul(${a.desc}, ${b.desc}, ${JSON.stringify(options)}) m=${m} k=${k} n=${n}`;
    const f = runCase(
      'matmul',
      desc,
      expect,
      () => ops.matmul(a.value as Tensor, b.value as Tensor, options as object),
      (out) => {
        if (effA !== transA || effB !== transB) {
          return out instanceof Tensor ? null : `${desc}: result is not a Tensor`; // odd options accepted: only sanity
        }
        return checkTensorResult(out, [m, n], dtA, matmulRef(a.v!, b.v!, m, k, n, transA, transB), GEMM_TOL[dtA], desc);
      },
      tally,
    );
    if (f) failures.push(f);
    dispose(a.value, b.value);
  }
  report(t, failures, tally, N);
});

/** Group sizes for T rows over E groups, maybe corrupted. Returns [value, valid, desc]. */
function groupSizes(rng: Rng, T: number, E: number, allowLengthErrors: boolean): [unknown, boolean, string] {
  const sizes = zipfGroupSizes(rng, T, E, 1.1);
  const r = rng();
  let value: unknown = sizes;
  let ok = true;
  if (r < 0.06 && allowLengthErrors) {
    value = rng() < 0.5 ? [...sizes, 0] : sizes.slice(0, -1);
    ok = false;
  } else if (r < 0.12) {
    const s = sizes.slice();
    s[randInt(rng, 0, E - 1)] += pick(rng, [1, -1, 3]);
    value = s;
    ok = false; // sum != T (or a negative entry)
  } else if (r < 0.17) {
    const s: unknown[] = sizes.slice();
    s[randInt(rng, 0, E - 1)] = pick(rng, [-1, 0.5, NaN, '1', null, Infinity]);
    value = s;
    ok = false;
  } else if (r < 0.2) {
    value = pick(rng, [null, undefined, 7, 'abc', {}]);
    ok = false;
  } else if (r < 0.45) {
    value = Int32Array.from(sizes);
  }
  const desc =
    value instanceof Int32Array ? `Int32Array[${Array.from(value)}]` : Array.isArray(value) ? JSON.stringify(value) : String(value);
  return [value, ok, desc];
}

test('fuzz groupedMatmul', (t) => {
  const rng = mulberry32(0xb0b ^ EXTRA_SEED);
  const failures: string[] = [];
  const tally: Record<string, number> = {};
  const N = 200;
  for (let i = 0; i < N; i++) {
    let expect: Expect = 'valid';
    const T = rng() < 0.1 ? 0 : randInt(rng, 1, 20);
    const K = rng() < 0.04 ? 0 : randInt(rng, 1, 20);
    const Nn = rng() < 0.04 ? 0 : randInt(rng, 1, 20);
    const E = randInt(rng, 1, 6);
    if (K === 0 || Nn === 0) expect = 'either';
    const transB = rng() < 0.5;
    const dtX: DType = rng() < 0.5 ? 'f32' : 'bf16';
    let dtW = dtX;
    if (rng() < 0.08) {
      dtW = otherDtype(dtX);
      expect = 'invalid';
    }
    let sx = [T, K];
    let sw = transB ? [E, Nn, K] : [E, K, Nn];
    const r = rng();
    if (r < 0.08) {
      const K2 = K + pick(rng, [1, 3]);
      sw = transB ? [E, Nn, K2] : [E, K2, Nn];
      expect = 'invalid';
    } else if (r < 0.12) {
      sw = pick(rng, [[K, Nn], [1, E, K, Nn]]);
      expect = 'invalid';
    } else if (r < 0.16) {
      sx = pick(rng, [[T * K], [1, T, K]]);
      expect = 'invalid';
    }
    const [gs, gsOk, gsDesc] = groupSizes(rng, T, E, true);
    if (!gsOk) expect = 'invalid';
    const x = operand(rng, sx, dtX, 0.06);
    const w = operand(rng, sw, dtW, 0.06);
    if (!x.ok || !w.ok) expect = 'invalid';
    let options: unknown = transB ? { transB } : pick(rng, [undefined, {}, { transB: false }]);
    if (rng() < 0.04) {
      options = pick(rng, [1, 'transB']);
      expect = 'invalid';
    }
    const desc = `#${i} groupedMatmul(${x.desc}, ${w.desc}, ${gsDesc}, ${JSON.stringify(options)})`;
    const f = runCase(
      'groupedMatmul',
      desc,
      expect,
      () => ops.groupedMatmul(x.value as Tensor, w.value as Tensor, gs as number[], options as object),
      (out) =>
        checkTensorResult(
          out,
          [T, Nn],
          dtX,
          groupedMatmulRef(x.v!, w.v!, Array.from(gs as ArrayLike<number>), K, Nn, transB),
          GEMM_TOL[dtX],
          desc,
        ),
      tally,
    );
    if (f) failures.push(f);
    dispose(x.value, w.value);
  }
  report(t, failures, tally, N);
});

test('fuzz groupedWeightGrad', (t) => {
  const rng = mulberry32(0xc0ffee ^ EXTRA_SEED);
  const failures: string[] = [];
  const tally: Record<string, number> = {};
  const N = 200;
  for (let i = 0; i < N; i++) {
    let expect: Expect = 'valid';
    const T = rng() < 0.1 ? 0 : randInt(rng, 1, 20);
    const K = rng() < 0.04 ? 0 : randInt(rng, 1, 20);
    const Nn = rng() < 0.04 ? 0 : randInt(rng, 1, 20);
    const E = randInt(rng, 1, 6);
    if (K === 0 || Nn === 0) expect = 'either';
    const dtX: DType = rng() < 0.5 ? 'f32' : 'bf16';
    let dtY = dtX;
    if (rng() < 0.08) {
      dtY = otherDtype(dtX);
      expect = 'invalid';
    }
    let sx = [T, K];
    let sy = [T, Nn];
    const r = rng();
    if (r < 0.1) {
      sy = [T + pick(rng, [1, 2]), Nn];
      expect = 'invalid';
    } else if (r < 0.15) {
      sy = pick(rng, [[T * Nn], [1, T, Nn]]);
      expect = 'invalid';
    } else if (r < 0.2) {
      sx = pick(rng, [[T * K], [T, K, 1]]);
      expect = 'invalid';
    }
    // for groupedWeightGrad the length of groupSizes defines E: only the sum and entries matter
    const [gs, gsOk, gsDesc] = groupSizes(rng, T, E, false);
    if (!gsOk) expect = 'invalid';
    const x = operand(rng, sx, dtX, 0.06);
    const dy = operand(rng, sy, dtY, 0.06);
    if (!x.ok || !dy.ok) expect = 'invalid';
    const desc = `#${i} groupedWeightGrad(${x.desc}, ${dy.desc}, ${gsDesc})`;
    const f = runCase(
      'groupedWeightGrad',
      desc,
      expect,
      () => ops.groupedWeightGrad(x.value as Tensor, dy.value as Tensor, gs as number[]),
      (out) => {
        const sizes = Array.from(gs as ArrayLike<number>);
        return checkTensorResult(
          out,
          [sizes.length, K, Nn],
          dtX,
          groupedWeightGradRef(x.v!, dy.v!, sizes, K, Nn),
          GEMM_TOL[dtX],
          desc,
        );
      },
      tally,
    );
    if (f) failures.push(f);
    dispose(x.value, dy.value);
  }
  report(t, failures, tally, N);
});

test('fuzz newtonSchulz', (t) => {
  const rng = mulberry32(0xd00d ^ EXTRA_SEED);
  const failures: string[] = [];
  const tally: Record<string, number> = {};
  const N = 200;
  for (let i = 0; i < N; i++) {
    let expect: Expect = 'valid';
    const m = rng() < 0.04 ? 0 : randInt(rng, 1, 12);
    const n = rng() < 0.04 ? 0 : randInt(rng, 1, 12);
    const B = randInt(rng, 1, 3);
    if (m === 0 || n === 0) expect = 'either';
    const dtype: DType = rng() < 0.5 ? 'f32' : 'bf16';
    let shape = rng() < 0.3 ? [B, m, n] : [m, n];
    if (rng() < 0.08) {
      shape = pick(rng, [[m * n], [1, 1, m, n]]);
      expect = 'invalid';
    }
    // options
    let options: unknown;
    let refOpts: NsOptions = {};
    const steps = randInt(rng, 0, 8);
    const ro = rng();
    if (ro < 0.15) {
      options = undefined;
    } else if (ro < 0.3) {
      options = { steps };
      refOpts = { steps };
    } else if (ro < 0.4) {
      const c: Triple = [2, -1.5, 0.5];
      options = { steps, coefficients: c };
      refOpts = { steps, coefficients: c };
    } else if (ro < 0.5) {
      // a prefix of the You schedule, continued with the (contracting) cubic: restarting the You
      // schedule after convergence would be chaotic and amplify bf16 rounding without bound
      const list = Array.from({ length: steps }, (_, s): Triple => (s < 5 ? YOU_COEFFS[s] : [2, -1.5, 0.5]));
      options = rng() < 0.5 ? { steps, coefficients: list } : { coefficients: list };
      refOpts = { steps, coefficients: list };
      if (steps === 0) expect = 'either'; // an empty list: a list of 0 triples, or a malformed triple
    } else if (ro < 0.6) {
      const eps = pick(rng, [0, 1e-7, 1e-3, 0.5]);
      options = { eps, steps };
      refOpts = { eps, steps };
    } else if (ro < 0.7) {
      options = {};
    } else {
      options = pick(rng, [
        { steps: -1 },
        { steps: 1.5 },
        { steps: 101 },
        { steps: NaN },
        { coefficients: [1, 2] },
        { coefficients: [[1, 2, 3], [1, 2]], steps: 2 },
        { coefficients: [[1, 2, 3]], steps: 2 },
        { coefficients: 'abc' },
        { eps: -1 },
        { eps: NaN },
        7,
        'fast',
      ]);
      expect = 'invalid';
    }
    const x = operand(rng, shape, dtype, 0.06);
    if (!x.ok) expect = 'invalid';
    const desc = `#${i} newtonSchulz(${x.desc}, ${JSON.stringify(options)})`;
    const f = runCase(
      'newtonSchulz',
      desc,
      expect,
      () => ops.newtonSchulz(x.value as Tensor, options as NsOptions),
      (out) => {
        const batch = shape.length === 3 ? shape[0] : 1;
        const ref = new Float64Array(batch * m * n);
        const emu = new Float64Array(batch * m * n);
        for (let b = 0; b < batch; b++) {
          const slice = x.v!.subarray(b * m * n, (b + 1) * m * n);
          ref.set(newtonSchulzRef(slice, m, n, refOpts), b * m * n);
          if (dtype === 'bf16') emu.set(newtonSchulzBf16Ref(slice, m, n, refOpts), b * m * n);
        }
        // Past 5 steps the Keller polynomial's repelling fixed point (0.868, f' = -1.58) makes
        // the iteration chaotic: measured on 20000 random 4x4 f32 inputs, the fp32-emulated NS
        // vs fp64 worst error grows from 7e-6 (5 steps) to 2.6e-5 (6) and 3.3e-4 (8). Loosen
        // the tolerance by 4x per step beyond 5.
        const growth = 4 ** Math.max(0, (refOpts.steps ?? 5) - 5);
        if (dtype === 'f32') return checkTensorResult(out, shape, dtype, ref, NS_TOL.f32 * growth, desc);
        // bf16: NS amplifies the bf16 rounding of tiny matrices (sv near the repelling fixed
        // point 0.868 are stretched ~1.58x per step), so against fp64 the spec-following
        // emulation itself reaches 0.066 on 2000 random matrices up to 12x12. Check against the
        // bf16 emulation with the bf16 NS tolerance, and against fp64 with 0.1.
        return (
          checkTensorResult(out, shape, dtype, emu, NS_TOL.bf16 * growth, `${desc} vs bf16 emulation`) ??
          checkTensorResult(out, shape, dtype, ref, 0.1 * growth, `${desc} vs fp64`)
        );
      },
      tally,
    );
    if (f) failures.push(f);
    dispose(x.value);
  }
  report(t, failures, tally, N);
});
