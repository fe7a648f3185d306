// Every collective for world sizes 1-4, f32 and bf16, sizes 1, 7, 1000 and 2^20+3, in place and
// out of place, on the slot ring and on the direct path: each rank checks its results bit for bit
// against the ring-order fp32 emulation and against float64 sums (test/helpers/parallel-worker.ts).
import test from 'ava';
import { runJob, segmentsOf } from '../helpers/parallel-run';

for (const nproc of [1, 2, 3, 4]) {
  test.serial(`collectives with ${nproc} rank(s)`, async (t) => {
    // With 3 ranks every output of 4 KiB or more is written with non-temporal stores (the other
    // code path of the copies and final sums; 8 MiB by default).
    const run = await runJob('collectives', nproc, nproc === 3 ? { env: { MOONTRAIN_COMM_STREAMING_BYTES: '4096' } } : {});
    t.log(`${nproc} ranks: ${run.ms} ms, direct path ${run.results[0]?.direct ? 'on' : 'off'}`);
    t.is(run.code, 0, 'every rank exits 0');
    for (let r = 0; r < nproc; ++r) {
      const res = run.results[r];
      if (!res) {
        t.fail(`rank ${r} wrote no results`);
        continue;
      }
      t.deepEqual(res.failures, [], `rank ${r}`);
      t.true(res.checks > 100, `rank ${r} ran ${res.checks} checks`);
    }
    t.deepEqual(segmentsOf(run.job), [], 'no shared-memory segment left');
  });
}
