// Grouped expert GEMM under Zipf(1) skew: one call for all experts, against one dense GEMM of
// the same rows (the ceiling) and a per-expert OpenBLAS loop (the anchor).
import { ops } from '../lib/ops';
import { tensor } from '../lib/tensor';
import { Candidate, CaseResult, loadOpenBlas, randomArray, runCase } from './harness';

// Deterministic Zipf(s) split of `total` rows over `experts` (largest remainders).
export function zipfGroups(total: number, experts: number, s = 1): number[] {
  const w = Array.from({ length: experts }, (_, i) => 1 / Math.pow(i + 1, s));
  const sum = w.reduce((a, b) => a + b, 0);
  const exact = w.map((x) => (x / sum) * total);
  const sizes = exact.map(Math.floor);
  let left = total - sizes.reduce((a, b) => a + b, 0);
  const order = exact.map((x, i) => [x - Math.floor(x), i]).sort((a, b) => b[0] - a[0]);
  for (let i = 0; left > 0; ++i, --left) sizes[order[i][1]]++;
  return sizes;
}

export function benchGrouped(repeats: number, experts = 64, rows = 24576, k = 512, n = 1408): CaseResult[] {
  const blas = loadOpenBlas();
  const groups = zipfGroups(rows, experts);
  const x32 = randomArray(rows * k, 4), w32 = randomArray(experts * k * n, 5);
  const results: CaseResult[] = [];
  for (const dtype of ['bf16', 'f32'] as const) {
    const x = tensor(x32, [rows, k], { dtype });
    const w = tensor(w32, [experts, k, n], { dtype });
    const dense = tensor(w32.subarray(0, k * n), [k, n], { dtype });
    const dy = tensor(randomArray(rows * n, 6), [rows, n], { dtype });
    const cands: Candidate[] = [
      { name: `grouped-${dtype}`, run: () => ops.groupedMatmul(x, w, groups).dispose() },
      { name: `dense-${dtype}`, run: () => ops.matmul(x, dense).dispose() },
    ];
    if (blas && dtype === 'f32') {
      const out = new Float32Array(rows * n);
      cands.push({
        name: 'openblas-loop-f32',
        run: () => {
          let row = 0;
          groups.forEach((g, e) => {
            if (g > 0) blas.sgemm(g, n, k, x32.subarray(row * k, (row + g) * k), w32.subarray(e * k * n, (e + 1) * k * n), out.subarray(row * n), false, false);
            row += g;
          });
        },
      });
    }
    const shape = `${experts}e ${rows}x${n}x${k}`;
    results.push(runCase('grouped', shape, dtype, 2 * rows * n * k, cands, repeats));
    results.push(runCase('wgrad', shape, dtype, 2 * rows * n * k,
      [{ name: `groupedWeightGrad-${dtype}`, run: () => ops.groupedWeightGrad(x, dy, groups).dispose() },
       { name: `dense-xT·dy-${dtype}`, run: () => ops.matmul(x, dy, { transA: true }).dispose() }], repeats));
    for (const t of [x, w, dense, dy]) t.dispose();
  }
  console.log(`groups: largest ${Math.max(...groups)}, smallest ${Math.min(...groups)}, median ${[...groups].sort((a, b) => a - b)[experts >> 1]}`);
  return results;
}
