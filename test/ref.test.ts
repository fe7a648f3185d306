// Self-checks of the float64 references in test/helpers/ref.ts against the published values
// of the reference cases T1, T2, T3, T5, T7 (docs/testing.md) and against hand-computed cases. These do not
// load the native library: if they fail, the reference (not moontrain) is wrong.
import test from 'ava';
import {
  bf16Round,
  frob,
  g1,
  groupedMatmulRef,
  groupedWeightGradRef,
  KELLER,
  matmulRef,
  maxAbsDiff,
  mulberry32,
  newtonSchulzBf16Ref,
  newtonSchulzRef,
  normal,
  nsPoly,
  PE_MODDED_COEFFS,
  relFrobError,
  singularValues,
  sinMatrix,
  transpose,
  Triple,
  YOU_COEFFS,
  zipfGroupSizes,
  fmtList,
} from './helpers/ref';

function f5(x: number): number {
  for (let i = 0; i < 5; i++) x = nsPoly(x);
  return x;
}

function svClose(t: any, got: number[], want: number[], tol: number, what: string): void {
  const d = maxAbsDiff(got, want);
  t.true(d <= tol, `${what}: sv ${fmtList(got)} vs expected ${fmtList(want)}, max |diff| ${d} > ${tol}`);
}

test('bf16Round: RNE, specials', (t) => {
  t.is(bf16Round(1), 1);
  t.is(bf16Round(1 + 2 ** -8), 1, 'tie rounds to even (down)');
  t.is(bf16Round(1 + 3 * 2 ** -8), 1 + 2 ** -6, 'tie rounds to even (up)');
  t.is(bf16Round(1 + 2 ** -8 + 2 ** -20), 1 + 2 ** -7, 'above the tie rounds up');
  t.is(bf16Round(-(1 + 3 * 2 ** -8)), -(1 + 2 ** -6));
  t.true(Number.isNaN(bf16Round(Number.NaN)));
  t.is(bf16Round(Infinity), Infinity);
  t.is(bf16Round(-Infinity), -Infinity);
  t.is(bf16Round(3.4028234663852886e38), Infinity, 'FLT_MAX rounds to Inf');
  t.is(Object.is(bf16Round(-0), -0), true);
});

test('matmulRef / grouped refs on a tiny hand example', (t) => {
  // [1 2; 3 4] . [5 6; 7 8] = [19 22; 43 50]
  const a = [1, 2, 3, 4];
  const b = [5, 6, 7, 8];
  t.deepEqual(Array.from(matmulRef(a, b, 2, 2, 2)), [19, 22, 43, 50]);
  t.deepEqual(Array.from(matmulRef(transpose(a, 2, 2), b, 2, 2, 2, true)), [19, 22, 43, 50]);
  t.deepEqual(Array.from(matmulRef(a, transpose(b, 2, 2), 2, 2, 2, false, true)), [19, 22, 43, 50]);
  // grouped: two groups of one row each
  const w = [1, 0, 0, 1, /* e1 */ 2, 0, 0, 2];
  t.deepEqual(Array.from(groupedMatmulRef([1, 2, 3, 4], w, [1, 1], 2, 2)), [1, 2, 6, 8]);
  t.deepEqual(Array.from(groupedWeightGradRef([1, 2, 3, 4], [1, 1, 1, 1], [0, 2], 2, 2)), [0, 0, 0, 0, 4, 4, 6, 6]);
});

test('zipfGroupSizes sums to T and has length E', (t) => {
  const rng = mulberry32(7);
  for (const [T, E] of [[0, 3], [1, 1], [100, 8], [37, 64]]) {
    const g = zipfGroupSizes(rng, T, E);
    t.is(g.length, E);
    t.is(g.reduce((p, q) => p + q, 0), T);
  }
});

test('singularValues of a known matrix', (t) => {
  // diag(3, 2) padded to 2x3, then rotated rows: sv are 3 and 2
  const c = Math.cos(0.3);
  const s = Math.sin(0.3);
  const a = matmulRef([c, -s, s, c], [3, 0, 0, 0, 2, 0], 2, 2, 3);
  svClose(t, singularValues(a, 2, 3), [3, 2], 1e-12, '2x3');
  svClose(t, singularValues(transpose(a, 2, 3), 3, 2), [3, 2], 1e-12, '3x2');
});

test('T1/T2: scalar polynomial facts', (t) => {
  t.true(Math.abs(nsPoly(1) - 0.701) < 1e-12);
  t.true(Math.abs(f5(1) - 0.696436) < 1e-6, `f5(1) = ${f5(1)}`);
  t.true(Math.abs(f5(0.125) - 0.68814) < 1e-6, `f5(0.125) = ${f5(0.125)}`);
  for (let i = 0; i <= 1000; i++) {
    const x = 0.01 + (i / 1000) * 0.99;
    const y = f5(x);
    t.true(y >= 0.6818 - 1e-4 && y <= 1.1344 + 1e-4, `f5(${x}) = ${y}`);
  }
});

test('T3: fp64 NS5(G1) matches the published values', (t) => {
  const G = g1();
  t.true(Math.abs(frob(G) - 27.6405499) < 1e-6);
  const sv0 = singularValues(G, 4, 8).map((v) => v / frob(G));
  svClose(t, sv0, [0.636199, 0.616097, 0.451375, 0.109251], 1e-6, 'normalized sv(G1)');
  const X = newtonSchulzRef(G, 4, 8);
  svClose(t, singularValues(X, 4, 8), [1.10077, 0.951874, 0.800621, 0.752914], 1e-6, 'sv(NS5(G1))');
  t.true(Math.abs(frob(X) - 1.8236315) < 1e-6);
  t.true(Math.abs(X.reduce((p, q) => p + q, 0) - -1.3227352) < 1e-6);
  t.true(
    maxAbsDiff(X.subarray(0, 8), [-0.262641, -0.557039, 0.278877, -0.133417, -0.029779, -0.324177, 0.511739, 0.099446]) <
      1e-6,
  );
  // T4 in fp64: transpose handling
  const Xt = newtonSchulzRef(transpose(G, 4, 8), 8, 4);
  t.true(maxAbsDiff(Xt, transpose(X, 4, 8)) === 0, 'NS(G1^T) == NS(G1)^T exactly');
});

test('T3: bf16-emulated NS5(G1) is near the published values', (t) => {
  const X = newtonSchulzBf16Ref(g1(), 4, 8);
  // The published values depend on where exactly the roundings happen; this emulation (fused
  // b*A + c*AA and a*X + B*X in fp32) lands 0.029 away from them, other plausible orders land
  // 0.013..0.057 away (the library's NS test uses 6e-2 for that reason).
  svClose(t, singularValues(X, 4, 8), [1.0998, 0.9346, 0.7845, 0.7475], 3e-2, 'bf16 sv(NS5(G1))');
  const err = relFrobError(X, newtonSchulzRef(g1(), 4, 8));
  t.true(err < 5e-2, `bf16 emulation vs fp64: ${err}`);
});

test('T5: iteration counts and schedules', (t) => {
  const G = g1();
  const cases: [string, Parameters<typeof newtonSchulzRef>[3], number[]][] = [
    ['N=1', { steps: 1 }, [1.1858, 1.1736, 1.1537, 0.3701]],
    ['N=2', { steps: 2 }, [1.0469, 0.8857, 0.8467, 0.7937]],
    ['N=3', { steps: 3 }, [0.9864, 0.9021, 0.8403, 0.6819]],
    ['N=4', { steps: 4 }, [1.1343, 0.9123, 0.8156, 0.7119]],
    ['N=6', { steps: 6 }, [1.0469, 0.9755, 0.748, 0.7059]],
    ['cubic x12', { steps: 12, coefficients: Array.from({ length: 12 }, (): Triple => [2, -1.5, 0.5]) }, [1, 1, 1, 1]],
    ['You', { steps: 5, coefficients: YOU_COEFFS }, [1.0048, 1.0017, 0.9907, 0.9899]],
    ['PE-modded', { steps: 5, coefficients: PE_MODDED_COEFFS }, [1.0544, 1.0261, 0.8891, 0.8624]],
    ['Keller as one triple', { steps: 5, coefficients: KELLER }, [1.10077, 0.951874, 0.800621, 0.752914]],
  ];
  for (const [name, opts, want] of cases) {
    // PE-modded (T5) divides the input by 1.02 first (normalization 1.02||X||_F):
    // emulate it with eps so that (||X|| + eps) = 1.02 ||X||.
    const o = name === 'PE-modded' ? { ...opts, eps: 0.02 * frob(G) } : opts;
    svClose(t, singularValues(newtonSchulzRef(G, 4, 8, o), 4, 8), want, 1e-4, name);
  }
});

test('T7: rank-2 sin matrix', (t) => {
  const sv = singularValues(newtonSchulzRef(sinMatrix(), 4, 8), 4, 8);
  svClose(t, sv, [1.071666, 0.913615, 0, 0], 1e-5, 'sin matrix');
  const z = newtonSchulzRef(new Float64Array(32), 4, 8);
  t.true(z.every((v) => v === 0), 'zero in, zero out');
});

test('T8: fp64 Gaussian 64x128 sv range', (t) => {
  const rng = mulberry32(8);
  const x = Array.from({ length: 64 * 128 }, () => normal(rng));
  const sv = singularValues(newtonSchulzRef(x, 64, 128), 64, 128);
  t.true(sv[0] <= 1.1344 + 1e-3 && sv[sv.length - 1] >= 0.6818 - 1e-3, `range [${sv[sv.length - 1]}, ${sv[0]}]`);
});
