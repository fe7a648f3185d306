// MoE routing, permutation and the sequence-wise balance loss against float64 references;
// every backward also against finite differences.
import test from 'ava';
import { ops, debug, tensor } from '../../lib';
import { mulberry32, randInt, randn, Rng } from '../helpers/ref';
import { assertClose, assertMeta, DTYPES, fromValues, randTensor, read } from '../helpers/util';
import { devicesFor, onDevice } from '../helpers/devices';
import {
  FD_TOL,
  finiteDiffGrad,
  lossOf,
  moePermuteBackwardRef,
  moePermuteRef,
  moeRouteBackwardRef,
  moeRouteRef,
  moeUnpermuteBackwardRef,
  moeUnpermuteRef,
  NN_TOL,
  routeWeightsRef,
  seqAuxLossGradRef,
  seqAuxLossRef,
} from '../helpers/nn-ref';

debug.poisonAllocations(true);

interface RouteCase {
  T: number;
  E: number;
  topK: number;
  nGroup: number;
  topkGroup: number;
}

const ROUTE_CASES: RouteCase[] = [];
for (const T of [1, 7, 33]) {
  ROUTE_CASES.push({ T, E: 1, topK: 1, nGroup: 1, topkGroup: 1 });
  ROUTE_CASES.push({ T, E: 4, topK: 2, nGroup: 1, topkGroup: 1 });
  ROUTE_CASES.push({ T, E: 4, topK: 4, nGroup: 1, topkGroup: 1 });
  ROUTE_CASES.push({ T, E: 8, topK: 3, nGroup: 1, topkGroup: 1 });
  ROUTE_CASES.push({ T, E: 4, topK: 2, nGroup: 2, topkGroup: 1 });
  ROUTE_CASES.push({ T, E: 8, topK: 3, nGroup: 2, topkGroup: 1 });
  ROUTE_CASES.push({ T, E: 8, topK: 4, nGroup: 4, topkGroup: 3 });
}

/** Router inputs whose decisions are separated by at least 1e-4 (no near-ties). */
function routeInputs(seed: number, c: RouteCase, normTopk: boolean, scalingFactor: number) {
  for (let s = seed; ; s += 1000) {
    const rng = mulberry32(s);
    const logits = randn(rng, c.T * c.E, 2);
    const bias = randn(rng, c.E, 0.3);
    const ref = moeRouteRef(Float64Array.from(logits), Float64Array.from(bias), c.T, c.E, { ...c, normTopk, scalingFactor });
    if (ref.margin > 1e-4) return { logits, bias, ref };
  }
}

for (const device of devicesFor(['moeRoute'])) test(`moeRoute: chosen experts, weights and scores match the reference (groups, normTopk, scaling)${onDevice(device)}`, (t) => {
  let seed = 1;
  for (const c of ROUTE_CASES) {
    for (const [normTopk, scalingFactor] of [
      [true, 1],
      [false, 1],
      [true, 2.5],
      [false, 0.7],
    ] as [boolean, number][]) {
      const { logits, bias, ref } = routeInputs(seed++, c, normTopk, scalingFactor);
      const label = `moeRoute ${JSON.stringify(c)} normTopk=${normTopk} sf=${scalingFactor}`;
      const r = ops.moeRoute(tensor(logits, [c.T, c.E], { device }), tensor(bias, [c.E], { device }), { ...c, normTopk, scalingFactor });
      t.is(r.experts.dtype, 'i32', `${label}: experts is an i32 tensor`);
      t.deepEqual(Array.from(r.experts.toInt32Array()), Array.from(ref.experts), `${label}: experts`);
      assertMeta(t, r.weights, [c.T, c.topK], 'f32', label, device);
      assertMeta(t, r.scores, [c.T, c.E], 'f32', label, device);
      assertClose(t, read(r.weights), ref.weights, NN_TOL.f32, `${label} weights`);
      assertClose(t, read(r.scores), ref.scores, NN_TOL.f32, `${label} scores`);
      if (c.nGroup > 1) {
        // every chosen expert lies in one of the topkGroup kept groups
        const gs = c.E / c.nGroup;
        for (let tk = 0; tk < c.T; tk++) {
          const groups = new Set(Array.from(r.experts.toInt32Array().slice(tk * c.topK, (tk + 1) * c.topK), (e) => Math.floor(e / gs)));
          t.true(groups.size <= c.topkGroup, `${label}: token ${tk} uses ${groups.size} groups`);
        }
      }
      if (normTopk) {
        const w = read(r.weights);
        for (let tk = 0; tk < c.T; tk++) {
          const sum = w.slice(tk * c.topK, (tk + 1) * c.topK).reduce((a, b) => a + b, 0);
          t.true(Math.abs(sum - scalingFactor) < 1e-5, `${label}: token ${tk} weights sum to the scaling factor`);
        }
      }
    }
  }
});

test('moeRoute: group-limited selection changes the choice; ties go to the lower index', (t) => {
  // all scores 0.5: the choice is decided by the bias alone
  const logits = tensor(new Float32Array(4), [1, 4]);
  const bias = tensor([0.4, -0.4, 0.3, 0.2], [4]);
  const flat = ops.moeRoute(logits, bias, { topK: 2 });
  t.deepEqual(Array.from(flat.experts.toInt32Array()), [0, 2], 'no groups: the two best');
  const grouped = ops.moeRoute(logits, bias, { topK: 2, nGroup: 2, topkGroup: 1 });
  t.deepEqual(Array.from(grouped.experts.toInt32Array()), [2, 3], 'group 1 (0.3 + 0.2) beats group 0 (0.4 - 0.4)');
  t.deepEqual(Array.from(read(grouped.weights)), [0.5, 0.5]);
  const ties = ops.moeRoute(tensor(new Float32Array(8), [1, 8]), tensor(new Float32Array(8), [8]), { topK: 3 });
  t.deepEqual(Array.from(ties.experts.toInt32Array()), [0, 1, 2], 'ties: lower indices first');
  const tiesG = ops.moeRoute(tensor(new Float32Array(8), [1, 8]), tensor(new Float32Array(8), [8]), { topK: 3, nGroup: 4, topkGroup: 2 });
  t.deepEqual(Array.from(tiesG.experts.toInt32Array()), [0, 1, 2], 'group ties: lower groups first');
  // defaults: normTopk true, scalingFactor 1
  const d = ops.moeRoute(tensor([1, -1, 2, 0.5], [1, 4]), tensor(new Float32Array(4), [4]), { topK: 2 });
  const s = [2, 1].map((x) => 1 / (1 + Math.exp(-x)));
  assertClose(t, read(d.weights), s.map((x) => x / (s[0] + s[1])), 1e-6, 'default normTopk and scaling');
});

for (const device of devicesFor(['moeRoute', 'moeRouteBackward'])) test(`moeRouteBackward: against the analytic reference and finite differences of the weights${onDevice(device)}`, (t) => {
  let seed = 500;
  for (const c of ROUTE_CASES.filter((x) => x.T <= 7)) {
    for (const [normTopk, sf] of [
      [true, 2.5],
      [false, 1.5],
    ] as [boolean, number][]) {
      const { logits, bias } = routeInputs(seed++, c, normTopk, sf);
      const r = ops.moeRoute(tensor(logits, [c.T, c.E], { device }), tensor(bias, [c.E], { device }), { ...c, normTopk, scalingFactor: sf });
      const rng = mulberry32(seed);
      const dw = randTensor(rng, [c.T, c.topK], 'f32', 1, device);
      const label = `moeRouteBackward ${JSON.stringify(c)} normTopk=${normTopk}`;
      const d = ops.moeRouteBackward(dw.t, r.scores, r.experts, { normTopk, scalingFactor: sf });
      assertMeta(t, d, [c.T, c.E], 'f32', label, device);
      const analytic = moeRouteBackwardRef(dw.v, read(r.scores), r.experts.toInt32Array(), c.T, c.E, c.topK, normTopk, sf);
      assertClose(t, read(d), analytic, NN_TOL.f32, label);
      const exact = moeRouteBackwardRef(
        dw.v,
        Float64Array.from(logits, (x) => 1 / (1 + Math.exp(-x))),
        r.experts.toInt32Array(),
        c.T,
        c.E,
        c.topK,
        normTopk,
        sf,
      );
      const fd = finiteDiffGrad(lossOf(dw.v, (x) => routeWeightsRef(x, r.experts.toInt32Array(), c.T, c.E, c.topK, normTopk, sf)), Float64Array.from(logits));
      assertClose(t, exact, fd, FD_TOL, `${label}: analytic vs finite differences`);
      const got = read(d);
      for (let tk = 0; tk < c.T; tk++) {
        const chosen = new Set(r.experts.toInt32Array().slice(tk * c.topK, (tk + 1) * c.topK));
        for (let e = 0; e < c.E; e++) if (!chosen.has(e)) t.is(got[tk * c.E + e], 0, `${label}: unchosen expert ${e} of token ${tk}`);
      }
      // A gradient of the scores from another path adds ds·s·(1 − s) on every expert.
      const ds = randTensor(rng, [c.T, c.E], 'f32', 1, device);
      const withScores = ops.moeRouteBackward(dw.t, r.scores, r.experts, { normTopk, scalingFactor: sf, dscores: ds.t });
      const s = read(r.scores);
      assertClose(t, read(withScores), analytic.map((x, i) => x + ds.v[i] * s[i] * (1 - s[i])), NN_TOL.f32, `${label} with dscores`);
    }
  }
});

/** topK distinct experts per token (as the router gives), or repeats allowed. */
function expertsFor(rng: Rng, T: number, E: number, K: number, distinct: boolean): Int32Array {
  const out = new Int32Array(T * K);
  for (let tk = 0; tk < T; tk++) {
    const pool = Array.from({ length: E }, (_, i) => i);
    for (let k = 0; k < K; k++) {
      if (distinct) {
        const j = randInt(rng, 0, pool.length - 1);
        out[tk * K + k] = pool[j];
        pool.splice(j, 1);
      } else {
        out[tk * K + k] = randInt(rng, 0, E - 1);
      }
    }
  }
  return out;
}

for (const device of devicesFor(['moePermute', 'moeUnpermute', 'moeUnpermuteBackward', 'moePermuteBackward'])) for (const dtype of DTYPES) {
  test(`moePermute / moeUnpermute and their backwards ${dtype}${onDevice(device)}`, (t) => {
    let seed = dtype === 'f32' ? 600 : 700;
    for (const T of [1, 7, 33]) {
      for (const D of [1, 7, 65]) {
        for (const [E, K] of [
          [1, 1],
          [4, 2],
          [8, 3],
          [8, 8],
        ]) {
          const rng = mulberry32(seed++);
          const experts = expertsFor(rng, T, E, K, seed % 2 === 0);
          const x = randTensor(rng, [T, D], dtype, 1, device);
          const label = `moePermute ${dtype} T=${T} D=${D} E=${E} K=${K}`;
          const p = ops.moePermute(x.t, experts, E);
          const ref = moePermuteRef(x.v, T, D, experts, E);
          assertMeta(t, p.xs, [T * K, D], dtype, label, device);
          t.deepEqual(Array.from(read(p.xs)), Array.from(ref.xs), `${label}: xs`);
          t.deepEqual(Array.from(p.groupSizes.toInt32Array()), ref.groupSizes, `${label}: groupSizes`);
          t.deepEqual(Array.from(p.order.toInt32Array()), ref.order, `${label}: order`);
          // unpermute
          const ys = randTensor(rng, [T * K, D], dtype, 1, device);
          const w = randTensor(rng, [T, K], 'f32', 1, device);
          const y = ops.moeUnpermute(ys.t, p.order, w.t);
          assertMeta(t, y, [T, D], dtype, label, device);
          assertClose(t, read(y), moeUnpermuteRef(ys.v, p.order.toInt32Array(), w.v, T, K, D), NN_TOL[dtype], `${label}: unpermute`);
          const dy = randTensor(rng, [T, D], dtype, 1, device);
          const ub = ops.moeUnpermuteBackward(dy.t, ys.t, p.order, w.t);
          const ubr = moeUnpermuteBackwardRef(dy.v, ys.v, p.order.toInt32Array(), w.v, T, K, D);
          assertMeta(t, ub.dys, [T * K, D], dtype, label, device);
          assertMeta(t, ub.dweights, [T, K], 'f32', label, device);
          assertClose(t, read(ub.dys), ubr.dys, NN_TOL[dtype], `${label}: dys`);
          assertClose(t, read(ub.dweights), ubr.dweights, NN_TOL.f32, `${label}: dweights (f32 from the rounded inputs)`);
          // permute backward
          const dxs = randTensor(rng, [T * K, D], dtype, 1, device);
          const dx = ops.moePermuteBackward(dxs.t, p.order, K);
          assertMeta(t, dx, [T, D], dtype, label, device);
          assertClose(t, read(dx), moePermuteBackwardRef(dxs.v, p.order.toInt32Array(), K, D), NN_TOL[dtype], `${label}: permute backward`);
          for (const o of [x.t, p.xs, ys.t, w.t, y, dy.t, ub.dys, ub.dweights, dxs.t, dx]) o.dispose();
        }
      }
    }
  });
}

test('moePermute: stable order (by expert, then token, then slot) and round trips', (t) => {
  const x = fromValues([10, 11, 20, 21, 30, 31], [3, 2], 'f32');
  const experts = Int32Array.from([1, 0, 1, 1, 0, 2]); // token 0 -> (1, 0), token 1 -> (1, 1), token 2 -> (0, 2)
  const p = ops.moePermute(x.t, experts, 3);
  t.deepEqual(Array.from(p.order.toInt32Array()), [1, 4, 0, 2, 3, 5]);
  t.deepEqual(Array.from(p.groupSizes.toInt32Array()), [2, 3, 1]);
  t.deepEqual(Array.from(read(p.xs)), [10, 11, 30, 31, 10, 11, 20, 21, 20, 21, 30, 31]);
  // permute then permute-backward sums each token's topK copies: K * x
  t.deepEqual(Array.from(read(ops.moePermuteBackward(p.xs, p.order.toInt32Array(), 2))), [20, 22, 40, 42, 60, 62]);
  // unpermute with weights summing to 1 per token gives x back
  const w = tensor([0.25, 0.75, 0.5, 0.5, 1, 0], [3, 2]);
  assertClose(t, read(ops.moeUnpermute(p.xs, p.order, w)), x.v, 1e-7, 'unpermute(permute(x)) with normalised weights');
  // a random round trip
  const rng = mulberry32(77);
  const T = 33;
  const K = 3;
  const E = 8;
  const xr = randTensor(rng, [T, 65], 'bf16');
  const pr = ops.moePermute(xr.t, expertsFor(rng, T, E, K, true), E);
  const ones = tensor(new Float32Array(T * K).fill(1 / K), [T, K]);
  assertClose(t, read(ops.moeUnpermute(pr.xs, pr.order, ones)), xr.v, 1e-2, 'bf16 round trip');
});

test('moe permutation backwards: analytic references match finite differences', (t) => {
  const rng = mulberry32(78);
  const T = 5;
  const K = 2;
  const D = 3;
  const E = 4;
  const experts = expertsFor(rng, T, E, K, true);
  const { order } = moePermuteRef(new Float64Array(T * D), T, D, experts, E);
  // permute: xs = P x, so dx = Pᵀ dxs
  const x = Float64Array.from(randn(rng, T * D));
  const dxs = Float64Array.from(randn(rng, T * K * D));
  assertClose(t, moePermuteBackwardRef(dxs, order, K, D), finiteDiffGrad(lossOf(dxs, (xx) => moePermuteRef(xx, T, D, experts, E).xs), x), FD_TOL, 'permute');
  // unpermute: with respect to ys and to the weights
  const ys = Float64Array.from(randn(rng, T * K * D));
  const w = Float64Array.from(randn(rng, T * K));
  const dy = Float64Array.from(randn(rng, T * D));
  const ref = moeUnpermuteBackwardRef(dy, ys, order, w, T, K, D);
  assertClose(t, ref.dys, finiteDiffGrad(lossOf(dy, (yy) => moeUnpermuteRef(yy, order, w, T, K, D)), ys), FD_TOL, 'unpermute dys');
  assertClose(t, ref.dweights, finiteDiffGrad(lossOf(dy, (ww) => moeUnpermuteRef(ys, order, ww, T, K, D)), w), FD_TOL, 'unpermute dweights');
});

for (const device of devicesFor(['moeSeqAuxLoss'])) test(`moeSeqAuxLoss: loss and dscores against the reference; the gradient against finite differences${onDevice(device)}`, (t) => {
  let seed = 800;
  for (const [B, S, E, K] of [
    [1, 1, 1, 1],
    [1, 7, 4, 2],
    [2, 33, 8, 3],
    [3, 5, 8, 6],
  ]) {
    const rng = mulberry32(seed++);
    const logits = randn(rng, B * S * E, 2);
    const scores = Float32Array.from(logits, (x) => 1 / (1 + Math.exp(-x)));
    const experts = expertsFor(rng, B * S, E, K, true);
    const alpha = 0.001 * (1 + seed % 3);
    const label = `moeSeqAuxLoss B=${B} S=${S} E=${E} K=${K}`;
    const st = tensor(scores, [B * S, E], { device });
    const r = ops.moeSeqAuxLoss(st, experts, { batch: B, seqLen: S, topK: K, alpha });
    const sv = Float64Array.from(scores);
    const loss = seqAuxLossRef(sv, experts, B, S, E, K, alpha);
    t.true(Math.abs(r.loss - loss) <= 1e-9 * Math.abs(loss), `${label}: loss ${r.loss} vs ${loss}`);
    assertMeta(t, r.dscores, [B * S, E], 'f32', label, device);
    const g = seqAuxLossGradRef(sv, experts, B, S, E, K, alpha);
    assertClose(t, read(r.dscores), g, NN_TOL.f32, `${label}: dscores`);
    if (B * S * E <= 64) {
      const fd = finiteDiffGrad((x) => seqAuxLossRef(x, experts, B, S, E, K, alpha), Float64Array.from(sv), 1e-6);
      assertClose(t, g, fd, FD_TOL, `${label}: analytic vs finite differences`);
    }
  }
  // every expert chosen by every token (topK = E): f_i = 1, the loss is alpha whatever the scores
  // and its gradient vanishes
  {
    const rng = mulberry32(899);
    const st = tensor(Float32Array.from(randn(rng, 3 * 8), (x) => 1 / (1 + Math.exp(-x))), [3, 8], { device });
    const all = Int32Array.from({ length: 24 }, (_, i) => (i * 5) % 8);
    const r = ops.moeSeqAuxLoss(st, all, { batch: 1, seqLen: 3, topK: 8, alpha: 0.2 });
    t.true(Math.abs(r.loss - 0.2) < 1e-9, `topK = E: loss ${r.loss}`);
    t.true(Array.from(read(r.dscores)).every((x) => Math.abs(x) < 1e-8), 'topK = E: zero gradient');
  }
  // a perfectly balanced router with uniform scores has loss alpha * 1
  const E = 4;
  const uniform = tensor(new Float32Array(4 * E).fill(0.5), [4, E], { device });
  const r = ops.moeSeqAuxLoss(uniform, Int32Array.from([0, 1, 2, 3, 0, 1, 2, 3]), { batch: 1, seqLen: 4, topK: 2, alpha: 0.3 });
  t.true(Math.abs(r.loss - 0.3) < 1e-12, `balanced loss ${r.loss}`);
});
