// Building blocks shared by the layers: Linear (weights [out, in], as in PyTorch) and RMSNorm,
// forward and backward over native ops.
import type { Tensor } from '../../types/core';
import { ops } from '../ops';
import type { Parameter } from './parameter';

/** y = x · Wᵀ */
export function linear(x: Tensor, w: Parameter): Tensor {
  return ops.matmul(x, w.value, { transB: true });
}

/** Accumulates dW = dyᵀ · x into w.grad and returns dx = dy · W. */
export function linearBackward(dy: Tensor, x: Tensor, w: Parameter): Tensor {
  if (w.requiresGrad) w.accumulateGrad(ops.matmul(dy, x, { transA: true }));
  return ops.matmul(dy, w.value);
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
