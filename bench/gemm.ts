// Dense GEMM: moontrain f32 and bf16 against OpenBLAS cblas_sgemm (fp32), same run, interleaved.
import { ops } from '../lib/ops';
import { tensor } from '../lib/tensor';
import { Candidate, CaseResult, loadOpenBlas, randomArray, runCase } from './harness';

export const gemmShapes: [number, number, number][] = [
  [512, 512, 512],
  [1024, 1024, 1024],
  [2048, 2048, 2048],
  [24576, 1408, 512],  // all routed rows through one expert-sized weight (MoE up-projection)
  [64, 1408, 512],     // a small expert
];

export function benchGemm(repeats: number, shapes = gemmShapes): CaseResult[] {
  const blas = loadOpenBlas();
  const results: CaseResult[] = [];
  for (const [m, n, k] of shapes) {
    const a32 = randomArray(m * k, 1), b32 = randomArray(k * n, 2);
    const c32 = new Float32Array(m * n);
    const anchor: Candidate[] = blas ? [{ name: 'openblas-f32', run: () => blas.sgemm(m, n, k, a32, b32, c32, false, false) }] : [];
    for (const dtype of ['f32', 'bf16'] as const) {
      const a = tensor(a32, [m, k], { dtype }), b = tensor(b32, [k, n], { dtype });
      const ours: Candidate = { name: `moontrain-${dtype}`, run: () => ops.matmul(a, b).dispose() };
      results.push(runCase('gemm', `${m}x${n}x${k}`, dtype, 2 * m * n * k, [ours, ...anchor], repeats));
      a.dispose();
      b.dispose();
    }
  }
  return results;
}
