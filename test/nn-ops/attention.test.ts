// ops.attention / ops.attentionBackward against float64 references and finite differences.
import test from 'ava';
import { ops, debug, tensor } from '../../lib';
import { mulberry32, randn } from '../helpers/ref';
import { assertClose, assertInvalidArg, assertMeta, DType, DTYPES, randTensor, read } from '../helpers/util';
import { devicesFor, onDevice, TestDevice } from '../helpers/devices';
import { attentionBackwardRef, attentionRef, AttnDims, FD_TOL, finiteDiffGrad, lossOf, NN_TOL } from '../helpers/nn-ref';

debug.poisonAllocations(true);

const CASES: AttnDims[] = [
  { B: 1, S: 1, H: 1, dk: 1, dv: 1 },
  { B: 1, S: 7, H: 3, dk: 8, dv: 5 },
  { B: 2, S: 33, H: 1, dk: 24, dv: 16 },
  { B: 2, S: 33, H: 3, dk: 7, dv: 9 },
  { B: 1, S: 40, H: 2, dk: 65, dv: 1 },
  { B: 1, S: 300, H: 2, dk: 8, dv: 4 },  // past 256: heads in rounds, each phase parallel inside
  { B: 1, S: 1024, H: 6, dk: 4, dv: 3 },  // rounds of 5 (b, h) pairs: the last round has only 1
];
// On the GPU: the cases up to S = 40 (the last two are about the CPU kernel's scheduling).
const casesOn = (device: TestDevice) => (device === 'cpu' ? CASES : CASES.filter((d) => d.S <= 40));

function make(seed: number, d: AttnDims, dtype: DType, device: TestDevice = 'cpu') {
  const rng = mulberry32(seed);
  const q = randTensor(rng, [d.B, d.S, d.H, d.dk], dtype, 1, device);
  const k = randTensor(rng, [d.B, d.S, d.H, d.dk], dtype, 1, device);
  const v = randTensor(rng, [d.B, d.S, d.H, d.dv], dtype, 1, device);
  const dout = randTensor(rng, [d.B, d.S, d.H, d.dv], dtype, 1, device);
  return { q, k, v, dout };
}

for (const device of devicesFor(['attention', 'attentionBackward'])) for (const dtype of DTYPES) {
  test(`attention ${dtype}: forward and backward, causal and not${onDevice(device)}`, (t) => {
    let seed = dtype === 'f32' ? 90 : 95;
    for (const d of casesOn(device)) {
      for (const causal of [true, false]) {
        const { q, k, v, dout } = make(seed++, d, dtype, device);
        const scale = 1 / Math.sqrt(d.dk);
        const label = `attention ${dtype} ${JSON.stringify(d)} causal=${causal}`;
        const { out, lse } = ops.attention(q.t, k.t, v.t, { scale, causal });
        assertMeta(t, out, [d.B, d.S, d.H, d.dv], dtype, label, device);
        assertMeta(t, lse, [d.B, d.H, d.S], 'f32', label, device);
        const ref = attentionRef(q.v, k.v, v.v, d, scale, causal);
        assertClose(t, read(out), ref.out, NN_TOL[dtype], `${label} out`);
        assertClose(t, read(lse), ref.lse, 1e-6, `${label} lse`);
        const g = ops.attentionBackward(dout.t, q.t, k.t, v.t, out, lse, { scale, causal });
        // the reference backward takes the same (rounded) out the native one was given
        const gr = attentionBackwardRef(dout.v, q.v, k.v, v.v, d, scale, causal, read(out));
        assertMeta(t, g.dq, [d.B, d.S, d.H, d.dk], dtype, label, device);
        assertMeta(t, g.dk, [d.B, d.S, d.H, d.dk], dtype, label, device);
        assertMeta(t, g.dv, [d.B, d.S, d.H, d.dv], dtype, label, device);
        assertClose(t, read(g.dq), gr.dq, NN_TOL[dtype], `${label} dq`);
        assertClose(t, read(g.dk), gr.dk, NN_TOL[dtype], `${label} dk`);
        assertClose(t, read(g.dv), gr.dv, NN_TOL[dtype], `${label} dv`);
        for (const o of [q.t, k.t, v.t, dout.t, out, lse, g.dq, g.dk, g.dv]) o.dispose();
      }
    }
  });
}

// softmax(scale·q·kᵀ) [B,H,S,S] in float64 from the reference lse (zeros past the diagonal).
function probsRef(q: ArrayLike<number>, k: ArrayLike<number>, lse: Float64Array, d: AttnDims, scale: number, causal: boolean): Float64Array {
  const { B, S, H, dk } = d;
  const p = new Float64Array(B * H * S * S);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++)
      for (let i = 0; i < S; i++)
        for (let j = 0; j < (causal ? i + 1 : S); j++) {
          let s = 0;
          for (let c = 0; c < dk; c++) s += q[((b * S + i) * H + h) * dk + c] * k[((b * S + j) * H + h) * dk + c];
          p[((b * H + h) * S + i) * S + j] = Math.exp(scale * s - lse[(b * H + h) * S + i]);
        }
  return p;
}

for (const device of devicesFor(['attention', 'attentionBackward'])) for (const dtype of DTYPES) {
  test(`attention ${dtype}: keepProbs returns the probabilities, and the backward that reuses them matches${onDevice(device)}`, (t) => {
    let seed = dtype === 'f32' ? 190 : 195;
    for (const d of casesOn(device)) {
      for (const causal of [true, false]) {
        const { q, k, v, dout } = make(seed++, d, dtype, device);
        const scale = 1 / Math.sqrt(d.dk);
        const label = `attention keepProbs ${dtype} ${JSON.stringify(d)} causal=${causal}`;
        const plain = ops.attention(q.t, k.t, v.t, { scale, causal });
        const kept = ops.attention(q.t, k.t, v.t, { scale, causal, keepProbs: true });
        t.is(plain.probs, undefined, `${label}: no probs unless asked`);
        assertMeta(t, kept.probs!, [d.B, d.H, d.S, d.S], dtype, label, device);
        t.deepEqual(read(kept.out), read(plain.out), `${label}: out does not depend on keepProbs`);
        const ref = attentionRef(q.v, k.v, v.v, d, scale, causal);
        assertClose(t, read(kept.probs!), probsRef(q.v, k.v, ref.lse, d, scale, causal), NN_TOL[dtype], `${label} probs`);
        const g = ops.attentionBackward(dout.t, q.t, k.t, v.t, kept.out, kept.lse, { scale, causal, probs: kept.probs });
        const gr = attentionBackwardRef(dout.v, q.v, k.v, v.v, d, scale, causal, read(kept.out));
        assertClose(t, read(g.dq), gr.dq, NN_TOL[dtype], `${label} dq`);
        assertClose(t, read(g.dk), gr.dk, NN_TOL[dtype], `${label} dk`);
        assertClose(t, read(g.dv), gr.dv, NN_TOL[dtype], `${label} dv`);
        for (const o of [q.t, k.t, v.t, dout.t, plain.out, plain.lse, kept.out, kept.lse, kept.probs!, g.dq, g.dk, g.dv]) o.dispose();
      }
    }
  });
}

test('attentionBackward: probs of the wrong shape or dtype is a clear error', (t) => {
  const d: AttnDims = { B: 1, S: 4, H: 2, dk: 3, dv: 2 };
  const { q, k, v, dout } = make(7, d, 'f32');
  const f = ops.attention(q.t, k.t, v.t, { keepProbs: true });
  const bad = [randTensor(mulberry32(1), [1, 2, 4, 3], 'f32').t, randTensor(mulberry32(2), [1, 2, 4, 4], 'bf16').t];
  for (const probs of bad) assertInvalidArg(t, () => ops.attentionBackward(dout.t, q.t, k.t, v.t, f.out, f.lse, { probs }), 'attentionBackward', 'options.probs');
});

test('attentionBackward: the analytic reference matches finite differences (q, k, v)', (t) => {
  const d: AttnDims = { B: 2, S: 5, H: 2, dk: 3, dv: 4 };
  const rng = mulberry32(11);
  for (const causal of [true, false]) {
    const q = Float64Array.from(randn(rng, d.B * d.S * d.H * d.dk));
    const k = Float64Array.from(randn(rng, d.B * d.S * d.H * d.dk));
    const v = Float64Array.from(randn(rng, d.B * d.S * d.H * d.dv));
    const dout = Float64Array.from(randn(rng, d.B * d.S * d.H * d.dv));
    const scale = 0.7;
    const g = attentionBackwardRef(dout, q, k, v, d, scale, causal);
    assertClose(t, g.dq, finiteDiffGrad(lossOf(dout, (x) => attentionRef(x, k, v, d, scale, causal).out), q), FD_TOL, `dq causal=${causal}`);
    assertClose(t, g.dk, finiteDiffGrad(lossOf(dout, (x) => attentionRef(q, x, v, d, scale, causal).out), k), FD_TOL, `dk causal=${causal}`);
    assertClose(t, g.dv, finiteDiffGrad(lossOf(dout, (x) => attentionRef(q, k, x, d, scale, causal).out), v), FD_TOL, `dv causal=${causal}`);
  }
});

test('attention: with causal masking, changing a later key or value leaves earlier outputs unchanged', (t) => {
  const d: AttnDims = { B: 2, S: 33, H: 3, dk: 8, dv: 6 };
  const rng = mulberry32(12);
  const q = randTensor(rng, [d.B, d.S, d.H, d.dk], 'f32');
  const kv = Float32Array.from(randn(rng, d.B * d.S * d.H * d.dk));
  const vv = Float32Array.from(randn(rng, d.B * d.S * d.H * d.dv));
  const base = ops.attention(q.t, tensor(kv, [d.B, d.S, d.H, d.dk]), tensor(vv, [d.B, d.S, d.H, d.dv]));
  const j = 20;
  const k2 = kv.slice();
  const v2 = vv.slice();
  for (let b = 0; b < d.B; b++) {
    for (let h = 0; h < d.H; h++) {
      for (let c = 0; c < d.dk; c++) k2[((b * d.S + j) * d.H + h) * d.dk + c] += 5;
      for (let c = 0; c < d.dv; c++) v2[((b * d.S + j) * d.H + h) * d.dv + c] -= 3;
    }
  }
  const changed = ops.attention(q.t, tensor(k2, [d.B, d.S, d.H, d.dk]), tensor(v2, [d.B, d.S, d.H, d.dv]));
  const o1 = read(base.out);
  const o2 = read(changed.out);
  let earlierSame = true;
  let laterDiffer = false;
  for (let b = 0; b < d.B; b++) {
    for (let i = 0; i < d.S; i++) {
      for (let h = 0; h < d.H; h++) {
        for (let c = 0; c < d.dv; c++) {
          const at = ((b * d.S + i) * d.H + h) * d.dv + c;
          if (i < j && o1[at] !== o2[at]) earlierSame = false;
          if (i >= j && o1[at] !== o2[at]) laterDiffer = true;
        }
      }
    }
  }
  t.true(earlierSame, 'outputs of queries before the changed key are bitwise unchanged');
  t.true(laterDiffer, 'outputs from the changed key on do change');
  // without the mask, everything changes
  const full1 = read(ops.attention(q.t, tensor(kv, [d.B, d.S, d.H, d.dk]), tensor(vv, [d.B, d.S, d.H, d.dv]), { causal: false }).out);
  const full2 = read(ops.attention(q.t, tensor(k2, [d.B, d.S, d.H, d.dk]), tensor(v2, [d.B, d.S, d.H, d.dv]), { causal: false }).out);
  t.not(full1[0], full2[0], 'non-causal: the first query sees the changed key');
});

for (const device of devicesFor(['attention'])) test(`attention: scale defaults to 1/sqrt(dk) and causal to true${onDevice(device)}`, (t) => {
  const d: AttnDims = { B: 1, S: 6, H: 2, dk: 9, dv: 4 };
  const { q, k, v } = make(13, d, 'f32', device);
  const a = read(ops.attention(q.t, k.t, v.t).out);
  const b = read(ops.attention(q.t, k.t, v.t, { scale: 1 / 3, causal: true }).out);
  t.deepEqual(Array.from(a), Array.from(b));
});
