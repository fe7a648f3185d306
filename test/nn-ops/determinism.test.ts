// Thread-count invariance: the backward ops that reduce (embedding rows, RMSNorm's dweight,
// attention's dk/dv, the permutation's per-token sums) are bitwise identical with 1 and 2 threads,
// at sizes that split into many tasks.
import test from 'ava';
import { ops, debug, setNumThreads, info, Tensor } from '../../lib';
import { firstBitwiseDifference, mulberry32, randInt } from '../helpers/ref';
import { DTYPES, randTensor } from '../helpers/util';

debug.poisonAllocations(true);

function underThreads(f: () => Tensor[]): [Float32Array[], Float32Array[]] {
  const before = info().threads;
  try {
    setNumThreads(1);
    const one = f().map((x) => x.toFloat32Array());
    setNumThreads(2);
    const two = f().map((x) => x.toFloat32Array());
    return [one, two];
  } finally {
    setNumThreads(before);
  }
}

for (const dtype of DTYPES) {
  test(`backward ops are bitwise identical for 1 and 2 threads (${dtype})`, (t) => {
    const rng = mulberry32(dtype === 'f32' ? 1600 : 1700);
    const check = (name: string, f: () => Tensor[]) => {
      const [one, two] = underThreads(f);
      one.forEach((a, i) => t.is(firstBitwiseDifference(a, two[i]), -1, `${name} output ${i}: first index differing between 1 and 2 threads`));
    };
    // embeddingBackward: 3000 tokens over 300 rows of 64
    const T = 3000;
    const dy = randTensor(rng, [T, 64], dtype);
    const ids = Int32Array.from({ length: T }, () => randInt(rng, 0, 299));
    check('embeddingBackward', () => [ops.embeddingBackward(dy.t, ids, 300)]);
    // rmsNormBackward: 300 x 700 (dweight in 6 column blocks, each summing 300 rows)
    const x = randTensor(rng, [300, 700], dtype);
    const w = randTensor(rng, [700], dtype);
    const g = randTensor(rng, [300, 700], dtype);
    const { rstd } = ops.rmsNorm(x.t, w.t);
    check('rmsNormBackward', () => {
      const r = ops.rmsNormBackward(g.t, x.t, w.t, rstd);
      return [r.dx, r.dweight];
    });
    // attentionBackward: B=2, H=3 (6 tasks), S=70
    const q = randTensor(rng, [2, 70, 3, 16], dtype);
    const k = randTensor(rng, [2, 70, 3, 16], dtype);
    const v = randTensor(rng, [2, 70, 3, 8], dtype);
    const dout = randTensor(rng, [2, 70, 3, 8], dtype);
    const att = ops.attention(q.t, k.t, v.t);
    check('attention', () => {
      const a = ops.attention(q.t, k.t, v.t);
      return [a.out, a.lse];
    });
    check('attentionBackward', () => {
      const r = ops.attentionBackward(dout.t, q.t, k.t, v.t, att.out, att.lse);
      return [r.dq, r.dk, r.dv];
    });
    // moePermuteBackward: 2000 tokens, top 4 of 16, D = 64
    const K = 4;
    const experts = Int32Array.from({ length: 2000 * K }, () => randInt(rng, 0, 15));
    const xe = randTensor(rng, [2000, 64], dtype);
    const { order } = ops.moePermute(xe.t, experts, 16);
    const dxs = randTensor(rng, [2000 * K, 64], dtype);
    check('moePermuteBackward', () => [ops.moePermuteBackward(dxs.t, order, K)]);
    const wts = randTensor(rng, [2000, K], 'f32');
    check('moeUnpermute', () => [ops.moeUnpermute(dxs.t, order, wts.t)]);
  });
}

test('sumSquares is identical for 1 and 2 threads (short rows, and long rows cut into blocks)', (t) => {
  const rng = mulberry32(1800);
  const before = info().threads;
  try {
    for (const shape of [[500, 300], [3, 40001], [100003]]) {
      const x = randTensor(rng, shape, 'f32');
      setNumThreads(1);
      const a = ops.sumSquares(x.t);
      setNumThreads(2);
      const b = ops.sumSquares(x.t);
      t.is(a, b, JSON.stringify(shape));
      x.t.dispose();
    }
  } finally {
    setNumThreads(before);
  }
});
