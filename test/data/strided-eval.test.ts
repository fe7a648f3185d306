// The full-split evaluator: every target from minContext on is scored exactly once, with at
// least minContext tokens of context, and the ids are the split's own tokens.
import test from 'ava';
import { INVALID_ARGUMENT } from '../../lib/data';
import { stridedEvalBatches } from '../../lib/data/strided-eval';

/** Tokens whose value is their position: a window's ids reveal where it starts. */
const ramp = (n: number): Int32Array => Int32Array.from({ length: n }, (_, i) => i);

for (const [N, S, B, C] of [[1000, 128, 7, 64], [129, 128, 4, 64], [5003, 33, 16, 10], [777, 16, 3, 1], [200, 16, 5, 0], [150, 20, 2, 19]]) {
  test(`N=${N} seqLen=${S} batch=${B} minContext=${C}: each target from ${Math.max(1, C)} scored once, with enough context`, (t) => {
    const ev = stridedEvalBatches(ramp(N), { batchSize: B, seqLen: S, minContext: C });
    const scored = new Uint32Array(N);
    let windows = 0, batches = 0;
    for (const b of ev) {
      batches++;
      t.true(b.rows <= B && b.rows >= 1);
      for (let r = 0; r < b.rows; r++, windows++) {
        const s = b.ids[r * S]!;
        for (let p = 0; p < S; p++) {
          t.is(b.ids[r * S + p], s + p, 'ids are consecutive tokens of the split');
          const target = b.targets[r * S + p]!;
          if (target < 0) continue;
          t.is(target, s + p + 1, 'the target is the next token');
          t.true(p + 1 >= C, `context ${p + 1} < ${C}`);
          scored[target]++;
        }
      }
    }
    t.is(batches, ev.count);
    t.is(windows, ev.windows);
    const first = Math.max(1, C);
    for (let j = 0; j < N; j++) if (scored[j] !== (j >= first ? 1 : 0)) return t.fail(`target ${j} scored ${scored[j]} times`);
    t.is(ev.predictedTokens, N - first);
    t.deepEqual(ev.slice(1, 2), ev.count > 1 ? [ev.batch(1)] : []);
  });
}

test('bad arguments name what was expected', (t) => {
  t.throws(() => stridedEvalBatches(ramp(10), { batchSize: 1, seqLen: 16, minContext: 4 }), { code: INVALID_ARGUMENT, message: /at least seqLen \+ 1 = 17 tokens/ });
  t.throws(() => stridedEvalBatches(ramp(100), { batchSize: 1, seqLen: 16, minContext: 17 }), { code: INVALID_ARGUMENT, message: /minContext/ });
  t.throws(() => stridedEvalBatches([1, 2, 3] as unknown as Int32Array, { batchSize: 1, seqLen: 1, minContext: 0 }), { code: INVALID_ARGUMENT, message: /Int32Array/ });
});
