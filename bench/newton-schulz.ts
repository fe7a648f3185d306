// Newton–Schulz, 5 steps: moontrain (f32, bf16) against an fp32 version on OpenBLAS (ssyrk for
// X·Xᵀ, as numpy does).
import { ops } from '../lib/ops';
import { newtonSchulzFlops } from '../lib/sweep/flops';
import { tensor } from '../lib/tensor';
import { Candidate, CaseResult, loadOpenBlas, randomArray, runCase } from './harness';

export const nsShapes: [number, number, number][] = [
  [1, 1024, 2816],
  [1, 2048, 2048],
  [8, 512, 1408],  // a batch of expert matrices
];

export function benchNewtonSchulz(repeats: number, shapes = nsShapes): CaseResult[] {
  const blas = loadOpenBlas();
  const results: CaseResult[] = [];
  for (const [batch, m, n] of shapes) {
    const x32 = randomArray(batch * m * n, 3);
    const scratch = new Float32Array(m * n);
    const anchor: Candidate[] = blas
      ? [{
          name: 'openblas-f32',
          run: () => {
            for (let q = 0; q < batch; ++q) {
              scratch.set(x32.subarray(q * m * n, (q + 1) * m * n));
              blas.newtonSchulz(scratch, m, n, 5);
            }
          },
        }]
      : [];
    for (const dtype of ['f32', 'bf16'] as const) {
      const x = tensor(x32, batch === 1 ? [m, n] : [batch, m, n], { dtype });
      const ours: Candidate = { name: `moontrain-${dtype}`, run: () => ops.newtonSchulz(x).dispose() };
      results.push(runCase('ns5', `${batch}x${m}x${n}`, dtype, newtonSchulzFlops(batch, m, n, 5), [ours, ...anchor], repeats));
      x.dispose();
    }
  }
  return results;
}
