// One decoder layer: x + attn(norm(x)), then + mlp(norm(·)) with a dense SwiGLU or an MoE.
import type { DType, Tensor } from '../../types/core';
import { ops } from '../ops';
import { BatchLayout, MLAttention } from './attention';
import type { MoonlightConfig } from './config';
import { addInto, rmsNorm, rmsNormBackward } from './functional';
import type { ParameterSource } from './init';
import { SwiGLU } from './mlp';
import { MoE } from './moe';
import type { Parameter } from './parameter';
import { Saved } from './saved-tensors';

export class DecoderLayer {
  readonly inputNorm: Parameter;
  readonly postNorm: Parameter;
  readonly attn: MLAttention;
  readonly mlp: SwiGLU | MoE;
  private readonly saved = new Saved();
  private ctx: { x: Tensor; hn: Tensor; rstd1: Tensor; x1: Tensor; h2: Tensor; rstd2: Tensor } | null = null;

  constructor(private readonly c: MoonlightConfig, readonly index: number, dtype: DType, src: ParameterSource) {
    const prefix = `model.layers.${index}`;
    const norm = (name: string) => src.make(`${prefix}.${name}.weight`, [c.hidden_size], 'norm', 'ones', dtype);
    this.inputNorm = norm('input_layernorm');
    this.postNorm = norm('post_attention_layernorm');
    this.attn = new MLAttention(c, `${prefix}.self_attn`, dtype, src);
    this.mlp = index < c.first_k_dense_replace
      ? new SwiGLU(`${prefix}.mlp`, c.hidden_size, c.intermediate_size, dtype, src)
      : new MoE(c, `${prefix}.mlp`, dtype, src);
  }

  parameters(): Parameter[] {
    return [this.inputNorm, ...this.attn.parameters(), this.postNorm, ...this.mlp.parameters()];
  }

  /** x: the residual stream [T, D], kept (not owned) until backward; returns the new stream. */
  forward(x: Tensor, batch: BatchLayout): Tensor {
    this.saved.free();
    const s = this.saved, eps = this.c.rms_norm_eps;
    const n1 = rmsNorm(x, this.inputNorm, eps);
    const hn = s.keep(n1.y), rstd1 = s.keep(n1.rstd);
    const x1 = s.keep(this.attn.forward(hn, batch, x));
    const n2 = rmsNorm(x1, this.postNorm, eps);
    const h2 = s.keep(n2.y), rstd2 = s.keep(n2.rstd);
    this.ctx = { x, hn, rstd1, x1, h2, rstd2 };
    return this.mlp instanceof MoE ? this.mlp.forward(h2, batch.batch, batch.seq, x1) : this.mlp.forward(h2, x1);
  }

  backward(dy: Tensor): Tensor {
    const ctx = this.ctx!;
    const dh2 = this.mlp.backward(dy);
    const dpost = rmsNormBackward(dh2, ctx.x1, this.postNorm, ctx.rstd2);
    dh2.dispose();
    const dx1 = ops.add(dy, dpost);
    dpost.dispose();
    const dhn = this.attn.backward(dx1);
    const dx = addInto(dx1, rmsNormBackward(dhn, ctx.x, this.inputNorm, ctx.rstd1));
    dhn.dispose();
    this.clearActivations();
    return dx;
  }

  clearActivations(): void {
    this.saved.free();
    this.ctx = null;
    this.attn.clearActivations();
    this.mlp.clearActivations();
  }

  dispose(): void {
    this.saved.free();
    this.attn.dispose();
    this.mlp.dispose();
    this.inputNorm.dispose();
    this.postNorm.dispose();
  }
}
