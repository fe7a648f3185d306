// Newton–Schulz works on the smaller Gram matrix: X·Xᵀ of the short side (a tall input is
// transposed first). The other side gives the same result in exact arithmetic at many times the
// cost, so the test checks the memory of the Gram matrices: r x r per step, measured as the
// growth of the peak resident set of a fresh process (no timing).
import test from 'ava';
import { spawnSync } from 'child_process';

const script = (shape: number[]) => `
const { ops, tensor } = require('./lib');
const n = ${shape[0] * shape[1]};
const x = tensor(Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.731) + 0.1 * Math.cos(i * 0.017)), ${JSON.stringify(shape)});
const before = process.resourceUsage().maxRSS;
ops.newtonSchulz(x).dispose();
console.log(process.resourceUsage().maxRSS - before);
`;

for (const shape of [[4096, 64], [64, 4096]]) {
  test(`newtonSchulz [${shape}]: the Gram matrices are 64 x 64, not 4096 x 4096 (peak memory)`, (t) => {
    const r = spawnSync(process.execPath, ['--import', require.resolve('tsx'), '-e', script(shape)], { cwd: `${__dirname}/../..`, encoding: 'utf8', env: { ...process.env, MOONTRAIN_NUM_THREADS: '2' } });
    t.is(r.status, 0, r.stderr);
    const grewKiB = Number(r.stdout.trim());
    // 4096 x 4096 f32 Gram and polynomial matrices would add 128 MiB; 64 x 64 ones add nothing
    // beside the 1 MiB working copies of X.
    t.true(grewKiB < 32 * 1024, `peak resident set grew by ${(grewKiB / 1024).toFixed(1)} MiB`);
    t.log(`grew ${(grewKiB / 1024).toFixed(1)} MiB`);
  });
}
