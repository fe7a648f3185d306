// ops.embedding / ops.embeddingBackward against float64 references; the backward also against
// finite differences of the reference forward.
import test from 'ava';
import { ops, debug } from '../../lib';
import { mulberry32, randInt, randn } from '../helpers/ref';
import { assertClose, assertMeta, DTYPES, randTensor, read } from '../helpers/util';
import { devicesFor, onDevice } from '../helpers/devices';
import { embeddingBackwardRef, embeddingRef, FD_TOL, finiteDiffGrad, lossOf, NN_TOL } from '../helpers/nn-ref';

debug.poisonAllocations(true);

const ids = (rng: () => number, T: number, V: number) => Int32Array.from({ length: T }, () => randInt(rng, 0, V - 1));

for (const device of devicesFor(['embedding', 'embeddingBackward'])) for (const dtype of DTYPES) {
  test(`embedding ${dtype}: rows of the weight for V in {1,7,129}, D in {1,7,65}, T in {1,7,33}${onDevice(device)}`, (t) => {
    let seed = dtype === 'f32' ? 100 : 200;
    for (const V of [1, 7, 129]) {
      for (const D of [1, 7, 65]) {
        for (const T of [1, 7, 33]) {
          const rng = mulberry32(seed++);
          const w = randTensor(rng, [V, D], dtype, 1, device);
          const id = ids(rng, T, V);
          const y = ops.embedding(w.t, id);
          const label = `embedding ${dtype} V=${V} D=${D} T=${T}`;
          assertMeta(t, y, [T, D], dtype, label, device);
          t.deepEqual(Array.from(read(y)), Array.from(embeddingRef(w.v, D, id)), label);
          y.dispose();
          w.t.dispose();
        }
      }
    }
  });

  test(`embeddingBackward ${dtype}: per-row sums in token order, zeros for unused rows${onDevice(device)}`, (t) => {
    let seed = dtype === 'f32' ? 300 : 400;
    for (const V of [1, 7, 129]) {
      for (const D of [1, 7, 65]) {
        for (const T of [1, 7, 33]) {
          const rng = mulberry32(seed++);
          const dy = randTensor(rng, [T, D], dtype, 1, device);
          const id = ids(rng, T, V);
          const dw = ops.embeddingBackward(dy.t, id, V);
          const label = `embeddingBackward ${dtype} V=${V} D=${D} T=${T}`;
          assertMeta(t, dw, [V, D], dtype, label, device);
          const got = read(dw);
          assertClose(t, got, embeddingBackwardRef(dy.v, D, id, V), NN_TOL[dtype], label);
          const used = new Set(id);
          for (let v = 0; v < V; v++) {
            if (used.has(v)) continue;
            t.true(got.slice(v * D, (v + 1) * D).every((x) => x === 0), `${label}: row ${v} has no token and must be 0`);
          }
          dw.dispose();
          dy.t.dispose();
        }
      }
    }
  });
}

test('embeddingBackward: the analytic reference matches finite differences of the forward', (t) => {
  const rng = mulberry32(5);
  const V = 6;
  const D = 3;
  const T = 9;
  const id = ids(rng, T, V);
  const w = Float64Array.from(randn(rng, V * D));
  const dy = Float64Array.from(randn(rng, T * D));
  const fd = finiteDiffGrad(lossOf(dy, (x) => embeddingRef(x, D, id)), w);
  assertClose(t, embeddingBackwardRef(dy, D, id, V), fd, FD_TOL, 'embeddingBackward vs finite differences');
});

for (const device of devicesFor(['embedding', 'embeddingBackward'])) test(`embedding: the ids array is not modified and repeated ids share a row${onDevice(device)}`, (t) => {
  const rng = mulberry32(6);
  const w = randTensor(rng, [4, 5], 'f32', 1, device);
  const id = Int32Array.from([3, 3, 0, 3]);
  const y = read(ops.embedding(w.t, id));
  t.deepEqual(Array.from(id), [3, 3, 0, 3]);
  t.deepEqual(Array.from(y.slice(0, 5)), Array.from(y.slice(5, 10)));
  const dy = randTensor(rng, [4, 5], 'f32', 1, device);
  const dw = read(ops.embeddingBackward(dy.t, id, 4));
  for (let j = 0; j < 5; j++) t.is(dw[3 * 5 + j], Math.fround(Math.fround(dy.v[j] + dy.v[5 + j]) + dy.v[15 + j]), `column ${j}: fp32 sum in token order`);
});
