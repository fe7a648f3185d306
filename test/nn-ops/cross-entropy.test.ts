// ops.crossEntropy / ops.crossEntropyBackward against float64 references and finite differences.
import test from 'ava';
import { ops, debug } from '../../lib';
import { fmt, mulberry32, randInt, randn } from '../helpers/ref';
import { assertClose, assertMeta, DTYPES, randTensor, read } from '../helpers/util';
import { devicesFor, onDevice } from '../helpers/devices';
import { crossEntropyBackwardRef, crossEntropyRef, FD_TOL, finiteDiffGrad, NN_TOL } from '../helpers/nn-ref';

debug.poisonAllocations(true);

/** Targets in [0, V), about a fifth of them ignored (-100, or another negative value). */
function targetsFor(rng: () => number, T: number, V: number): Int32Array {
  return Int32Array.from({ length: T }, (_, i) => (i > 0 && rng() < 0.2 ? (rng() < 0.5 ? -100 : -1) : randInt(rng, 0, V - 1)));
}

for (const device of devicesFor(['crossEntropy', 'crossEntropyBackward'])) for (const dtype of DTYPES) {
  test(`crossEntropy ${dtype}: loss, count, lse and dlogits for T in {1,7,33}, V in {1,7,129}${onDevice(device)}`, (t) => {
    let seed = dtype === 'f32' ? 110 : 120;
    for (const T of [1, 7, 33]) {
      for (const V of [1, 7, 129]) {
        const rng = mulberry32(seed++);
        const logits = randTensor(rng, [T, V], dtype, 3, device);
        const targets = targetsFor(rng, T, V);
        const label = `crossEntropy ${dtype} T=${T} V=${V}`;
        const ce = ops.crossEntropy(logits.t, targets);
        const ref = crossEntropyRef(logits.v, T, V, targets);
        t.is(ce.count, ref.count, `${label} count`);
        const lossErr = Math.abs(ce.loss - ref.loss) / Math.max(1e-30, Math.abs(ref.loss));
        t.true(ref.loss === 0 ? Math.abs(ce.loss) < 1e-6 : lossErr <= 1e-6, `${label} loss ${ce.loss} vs ${ref.loss} (${fmt(lossErr)})`);
        assertMeta(t, ce.lse, [T], 'f32', label);
        assertClose(t, read(ce.lse), ref.lse, 1e-6, `${label} lse`);
        const scale = ref.count > 0 ? 1 / ref.count : 0;
        const d = ops.crossEntropyBackward(logits.t, targets, ce.lse, { scale });
        assertMeta(t, d, [T, V], dtype, label, device);
        const dref = crossEntropyBackwardRef(logits.v, T, V, targets, scale);
        assertClose(t, read(d), dref, NN_TOL[dtype], `${label} dlogits`);
        const got = read(d);
        for (let r = 0; r < T; r++) {
          if (targets[r] < 0) t.true(got.slice(r * V, (r + 1) * V).every((x) => x === 0), `${label}: ignored row ${r} is 0`);
        }
        // gradInPlace: the same loss, and the logits overwritten by the same gradient (same bits).
        const inPlace = ops.crossEntropy(logits.t, targets, { gradInPlace: true });
        t.is(inPlace.loss, ce.loss, `${label} gradInPlace loss`);
        t.is(inPlace.count, ce.count, `${label} gradInPlace count`);
        t.is(inPlace.dlogits, logits.t, `${label} gradInPlace returns the logits tensor`);
        t.deepEqual(read(logits.t), got, `${label} gradInPlace dlogits`);
        for (const o of [logits.t, ce.lse, d, inPlace.lse]) o.dispose();
      }
    }
  });
}

test('crossEntropyBackward: the analytic reference matches finite differences of the mean loss', (t) => {
  const rng = mulberry32(14);
  const T = 6;
  const V = 5;
  const targets = Int32Array.from([2, -100, 0, 4, -1, 4]);
  const logits = Float64Array.from(randn(rng, T * V, 2));
  const dyScalar = 1.7; // upstream gradient of the scalar loss
  const count = 4;
  const analytic = crossEntropyBackwardRef(logits, T, V, targets, dyScalar / count);
  const fd = finiteDiffGrad((x) => dyScalar * crossEntropyRef(x, T, V, targets).loss, logits);
  assertClose(t, analytic, fd, FD_TOL, 'dlogits vs finite differences');
});

for (const device of devicesFor(['crossEntropy', 'crossEntropyBackward'])) test(`crossEntropy: all targets ignored gives loss 0, count 0 and zero gradients; scale defaults to 1${onDevice(device)}`, (t) => {
  const rng = mulberry32(15);
  const logits = randTensor(rng, [3, 4], 'f32', 1, device);
  const none = Int32Array.from([-100, -100, -5]);
  const ce = ops.crossEntropy(logits.t, none);
  t.is(ce.loss, 0);
  t.is(ce.count, 0);
  t.true(Array.from(read(ops.crossEntropyBackward(logits.t, none, ce.lse))).every((x) => x === 0));
  const tg = Int32Array.from([1, 0, 3]);
  const ce2 = ops.crossEntropy(logits.t, tg);
  assertClose(t, read(ops.crossEntropyBackward(logits.t, tg, ce2.lse)), crossEntropyBackwardRef(logits.v, 3, 4, tg, 1), 1e-6, 'scale 1');
});
