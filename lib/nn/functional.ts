// Building blocks shared by the layers: Linear (weights [out, in], as in PyTorch) and RMSNorm,
// forward and backward over native ops.
import type { Tensor } from '../../types/core';
import { ops } from '../ops';
import type { Parameter } from './parameter';

/** y = x · Wᵀ, plus `add` (not owned) when given, in the same pass. */
export function linear(x: Tensor, w: Parameter, add?: Tensor): Tensor {
  return ops.matmul(x, w.value, { transB: true, add });
}

/**
 * Accumulates dW = dyᵀ · x into w.grad and returns dx = dy · W, plus `add` when given, which it
 * disposes (so gradients from several paths sum without a separate pass).
 */
export function linearBackward(dy: Tensor, x: Tensor, w: Parameter, add?: Tensor): Tensor {
  if (w.requiresGrad) w.accumulateGrad(ops.matmul(dy, x, { transA: true }));
  const dx = ops.matmul(dy, w.value, { add });
  add?.dispose();
  return dx;
}

/** a + b, disposing both inputs. */
export function addInto(a: Tensor, b: Tensor): Tensor {
  const s = ops.add(a, b);
  a.dispose();
  b.dispose();
  return s;
}

export function rmsNorm(x: Tensor, w: Parameter, eps: number): { y: Tensor; rstd: Tensor } {
  return ops.rmsNorm(x, w.value, { eps });
}

/** Accumulates dweight and returns dx. */
export function rmsNormBackward(dy: Tensor, x: Tensor, w: Parameter, rstd: Tensor): Tensor {
  const { dx, dweight } = ops.rmsNormBackward(dy, x, w.value, rstd);
  w.accumulateGrad(dweight);
  return dx;
}
