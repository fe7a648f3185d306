// Training FLOPs of a run: the model's (6 x active parameters and head, plus attention, per token;
// nn/config.ts) and Muon's Newton-Schulz, which is not negligible at this scale. Each quintic
// iteration on an m x n matrix (m <= n) costs 4m^2 n + 2m^3 FLOPs (X X^T, then the polynomial in
// it, then its product with X); every matrix and every expert is orthogonalised every step.
import { flopsPerToken, type MoonlightConfig } from '../nn/config';
import { MoonlightModel } from '../nn/model';
import { isMuonParameter } from '../optim/muon';
import { numel } from '../shape';
import { ops } from '../ops';
import { synchronize, tensor } from '../tensor';
import type { DType, Device } from '../../types/core';

/** FLOPs of `steps` quintic iterations on each of `batch` matrices of rows x cols. */
export function newtonSchulzFlops(batch: number, rows: number, cols: number, steps: number): number {
  const m = Math.min(rows, cols), n = Math.max(rows, cols);
  return batch * steps * (4 * m * m * n + 2 * m * m * m);
}

/** Newton-Schulz FLOPs of one Muon step on the model of `config` (matrix shapes from the model itself). */
export function newtonSchulzFlopsPerStep(config: MoonlightConfig, nsSteps = 5): number {
  const model = new MoonlightModel(config, { precision: 'f32', seed: 0 });
  try {
    let flops = 0;
    for (const p of model.parameters()) {
      if (!isMuonParameter(p)) continue;
      const shape = p.value.shape;
      const [a, b] = shape.slice(-2) as [number, number];
      flops += newtonSchulzFlops(numel(shape.slice(0, -2)), a, b, nsSteps);
    }
    return flops;
  } finally {
    model.dispose();
  }
}

export function modelFlops(config: MoonlightConfig, seqLen: number, tokens: number): number {
  return flopsPerToken(config, seqLen) * tokens;
}

/**
 * The peak this process reaches, measured: FLOP/s of an n x n x n GEMM in `dtype` on the current
 * threads (the median of 6 timed products after a warm-up). The denominator of MFU, in training
 * (flops-per-token x tokens/s) and in `moontrain bench step`.
 */
export function gemmFlopsPerSecond(dtype: DType = 'bf16', n = 1024, device: Device = 'cpu'): number {
  const fill = (salt: number) => Float32Array.from({ length: n * n }, (_, i) => (((i * 2654435761 + salt) >>> 0) % 2001) / 1000 - 1);
  const a = tensor(fill(1), [n, n], { dtype, device }), b = tensor(fill(2), [n, n], { dtype, device });
  const ms: number[] = [];
  try {
    for (let i = 0; i < 7; ++i) {
      const t0 = process.hrtime.bigint();
      const c = ops.matmul(a, b);
      synchronize(c);
      c.dispose();
      ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
  } finally {
    a.dispose();
    b.dispose();
  }
  const timed = ms.slice(1).sort((x, y) => x - y);
  const median = (timed[2]! + timed[3]!) / 2;
  return (2 * n * n * n) / (median / 1000);
}
