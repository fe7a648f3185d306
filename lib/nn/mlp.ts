// SwiGLU feed-forward: down(silu(gate(x)) * up(x)). Used for the dense layers and, with width
// moe_intermediate_size × n_shared_experts, for the shared experts of MoE layers.
import type { DType, Tensor } from '../../types/core';
import { ops } from '../ops';
import { linear, linearBackward } from './functional';
import type { ParameterSource } from './init';
import type { Parameter } from './parameter';
import { Saved, free } from './saved-tensors';

export class SwiGLU {
  readonly gate: Parameter;
  readonly up: Parameter;
  readonly down: Parameter;
  private readonly saved = new Saved();
  private ctx: { x: Tensor; g: Tensor; u: Tensor; a: Tensor } | null = null;

  constructor(prefix: string, hidden: number, width: number, dtype: DType, src: ParameterSource) {
    const matrix = (name: string, rows: number, cols: number) => src.make(`${prefix}.${name}.weight`, [rows, cols], 'matrix', 'normal', dtype);
    this.gate = matrix('gate_proj', width, hidden);
    this.up = matrix('up_proj', width, hidden);
    this.down = matrix('down_proj', hidden, width);
  }

  parameters(): Parameter[] {
    return [this.gate, this.up, this.down];
  }

  /** x is kept (not owned) until backward. Returns the output plus `residual` (not owned) when given. */
  forward(x: Tensor, residual?: Tensor): Tensor {
    this.saved.free();
    const s = this.saved;
    const g = s.keep(linear(x, this.gate));
    const u = s.keep(linear(x, this.up));
    const a = s.keep(ops.swiglu(g, u));
    this.ctx = { x, g, u, a };
    return linear(a, this.down, residual);
  }

  /** Returns the gradient of x, plus `add` (disposed) when given. */
  backward(dy: Tensor, add?: Tensor): Tensor {
    const { x, g, u, a } = this.ctx!;
    const da = linearBackward(dy, a, this.down);
    const { dgate, dup } = ops.swigluBackward(da, g, u);
    da.dispose();
    const dx = linearBackward(dup, x, this.up, linearBackward(dgate, x, this.gate, add));
    free(dgate, dup);
    this.clearActivations();
    return dx;
  }

  clearActivations(): void {
    this.saved.free();
    this.ctx = null;
  }

  dispose(): void {
    this.saved.free();
    for (const p of this.parameters()) p.dispose();
  }
}
