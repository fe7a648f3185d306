// Learning-rate schedules (step counts from 0) and gradient clipping by global norm.
import type { Parameter } from '../nn/parameter';
import { ops } from '../ops';

export interface ScheduleOptions {
  lr: number;
  warmup: number;
  total: number;
  /** Final lr as a fraction of the peak (Moonlight's cosine ends at 0.1 × peak). */
  minRatio?: number;
  /** wsd: fraction of the steps spent decaying at the end (default 0.2). */
  decayFraction?: number;
}

/** Linear warm-up to lr, then cosine down to minRatio·lr at `total`. */
export function cosineLr(step: number, o: ScheduleOptions): number {
  const min = o.lr * (o.minRatio ?? 0.1);
  if (step < o.warmup) return (o.lr * (step + 1)) / o.warmup;
  const t = Math.min(1, (step - o.warmup) / Math.max(1, o.total - o.warmup));
  return min + 0.5 * (o.lr - min) * (1 + Math.cos(Math.PI * t));
}

/** Warm-up, a stable plateau at lr, then a linear decay to minRatio·lr over the last decayFraction. */
export function wsdLr(step: number, o: ScheduleOptions): number {
  const min = o.lr * (o.minRatio ?? 0);
  if (step < o.warmup) return (o.lr * (step + 1)) / o.warmup;
  const decaySteps = Math.max(1, Math.round(o.total * (o.decayFraction ?? 0.2)));
  const decayStart = o.total - decaySteps;
  if (step < decayStart) return o.lr;
  const t = Math.min(1, (step - decayStart) / decaySteps);
  return o.lr + (min - o.lr) * t;
}

/** Global L2 norm of all gradients (in double, in parameter order). */
export function gradNorm(params: Parameter[]): number {
  let sum = 0;
  for (const p of params) if (p.grad) sum += ops.sumSquares(p.grad);
  return Math.sqrt(sum);
}

/** Scales all gradients so their global norm is at most maxNorm; returns the norm before clipping. */
export function clipGradNorm(params: Parameter[], maxNorm: number): number {
  const norm = gradNorm(params);
  if (Number.isFinite(norm) && norm > maxNorm && maxNorm > 0) {
    const s = maxNorm / (norm + 1e-6);
    for (const p of params) if (p.grad) ops.scaleInPlace(p.grad, s);
  }
  return norm;
}
