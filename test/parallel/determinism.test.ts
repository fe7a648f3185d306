// The same job twice gives the same bits, on every rank (ring and direct paths, f32 and bf16).
import test from 'ava';
import { runJob } from '../helpers/parallel-run';

test('results are bitwise identical across runs and ranks', async (t) => {
  const a = await runJob('determinism', 3);
  const b = await runJob('determinism', 3);
  t.is(a.code, 0);
  t.is(b.code, 0);
  for (let r = 0; r < 3; ++r) {
    t.deepEqual(a.results[r]?.failures, [], `run 1 rank ${r}`);
    t.deepEqual(b.results[r]?.failures, [], `run 2 rank ${r}`);
    const ha = a.results[r]?.hashes ?? {};
    t.true(Object.keys(ha).length >= 24, `rank ${r} hashed ${Object.keys(ha).length} results`);
    t.deepEqual(b.results[r]?.hashes, ha, `rank ${r}: run 2 = run 1`);
  }
  // allReduce and allGather results are the same on every rank; the ring and direct paths agree.
  const h0 = a.results[0]?.hashes ?? {};
  for (const [k, v] of Object.entries(h0)) {
    if (!/allReduce|allGather/.test(k)) continue;
    for (let r = 1; r < 3; ++r) t.is(a.results[r]?.hashes?.[k], v, `${k} on rank ${r}`);
    const other = k.startsWith('ring') ? k.replace(/^ring/, 'default') : k.replace(/^default/, 'ring');
    t.is(h0[other], v, `${k} = ${other}`);
  }
});
