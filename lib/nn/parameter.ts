// A trainable (or rule-updated) tensor with its gradient and what kind of weight it is; the
// kind decides the optimizer route (Muon for hidden matrices, AdamW for the rest).
import type { Tensor } from '../../types/core';
import { ops } from '../ops';

/**
 * matrix: a 2-D hidden weight [out, in]; experts: a stack [E, out, in] of expert matrices,
 * orthogonalised one expert at a time; embedding / head: token embedding and LM head;
 * norm: RMSNorm gains; bias: 1-D biases (the router's correction bias is not gradient-trained).
 */
export type ParameterKind = 'matrix' | 'experts' | 'embedding' | 'head' | 'norm' | 'bias';

export interface ParameterOptions {
  name: string;
  kind?: ParameterKind;
  requiresGrad?: boolean;
}

export class Parameter {
  readonly name: string;
  readonly kind: ParameterKind;
  readonly requiresGrad: boolean;
  value: Tensor;
  grad: Tensor | null = null;

  constructor(value: Tensor, options: ParameterOptions) {
    this.name = options.name;
    this.value = value;
    this.requiresGrad = options.requiresGrad ?? true;
    this.kind = options.kind ?? (value.shape.length === 2 ? 'matrix' : value.shape.length === 3 ? 'experts' : 'bias');
  }

  /** Adds g to the gradient (taking ownership of g), so micro-batches accumulate. */
  accumulateGrad(g: Tensor): void {
    if (!this.requiresGrad) {
      g.dispose();
      return;
    }
    if (!this.grad) {
      this.grad = g;
      return;
    }
    const sum = ops.add(this.grad, g);
    this.grad.dispose();
    g.dispose();
    this.grad = sum;
  }

  zeroGrad(): void {
    this.grad?.dispose();
    this.grad = null;
  }

  /** Replaces the value (disposing the old one). */
  set(value: Tensor): void {
    if (value !== this.value) this.value.dispose();
    this.value = value;
  }

  dispose(): void {
    this.value.dispose();
    this.zeroGrad();
  }
}
