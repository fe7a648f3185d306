// Multi-head latent attention (DeepSeek-V2/V3, Moonlight): queries full-rank (or through a
// low-rank bottleneck when q_lora_rank is set), keys and values from a shared low-rank latent
// with its own RMSNorm, and a decoupled RoPE key shared by all heads.
import type { DType, Tensor } from '../../types/core';
import { ops } from '../ops';
import type { MoonlightConfig } from './config';
import { addInto, linear, linearBackward, rmsNorm, rmsNormBackward } from './functional';
import type { ParameterSource } from './init';
import type { Parameter } from './parameter';
import { Saved, free, reshaped } from './saved-tensors';

/** The geometry of a forward pass: rows, sequence length and every token's position. */
export interface BatchLayout {
  batch: number;
  seq: number;
  positions: Tensor;  // [batch * seq] i32
}

// Attention probabilities are kept from the forward for the backward (skipping Q·Kᵀ and the
// exponentials there, -27% measured at S = 128) while they are at most this many elements per
// layer (16 MiB in bf16); longer sequences recompute them.
const KEEP_PROBS_MAX_ELEMENTS = 8 << 20;

export class MLAttention {
  readonly q?: Parameter;
  readonly qA?: Parameter;
  readonly qANorm?: Parameter;
  readonly qB?: Parameter;
  readonly kvA: Parameter;
  readonly kvANorm: Parameter;
  readonly kvB: Parameter;
  readonly o: Parameter;
  private readonly saved = new Saved();
  private ctx: Record<string, Tensor> = {};
  private batch: BatchLayout | null = null;

  constructor(private readonly c: MoonlightConfig, prefix: string, dtype: DType, src: ParameterSource) {
    const h = c.num_attention_heads, d = c.hidden_size;
    const qHead = c.qk_nope_head_dim + c.qk_rope_head_dim;
    const matrix = (name: string, rows: number, cols: number) => src.make(`${prefix}.${name}.weight`, [rows, cols], 'matrix', 'normal', dtype);
    const norm = (name: string, n: number) => src.make(`${prefix}.${name}.weight`, [n], 'norm', 'ones', dtype);
    if (c.q_lora_rank === null) {
      this.q = matrix('q_proj', h * qHead, d);
    } else {
      this.qA = matrix('q_a_proj', c.q_lora_rank, d);
      this.qANorm = norm('q_a_layernorm', c.q_lora_rank);
      this.qB = matrix('q_b_proj', h * qHead, c.q_lora_rank);
    }
    this.kvA = matrix('kv_a_proj_with_mqa', c.kv_lora_rank + c.qk_rope_head_dim, d);
    this.kvANorm = norm('kv_a_layernorm', c.kv_lora_rank);
    this.kvB = matrix('kv_b_proj', h * (c.qk_nope_head_dim + c.v_head_dim), c.kv_lora_rank);
    this.o = matrix('o_proj', d, h * c.v_head_dim);
  }

  parameters(): Parameter[] {
    return [this.q, this.qA, this.qANorm, this.qB, this.kvA, this.kvANorm, this.kvB, this.o].filter((p): p is Parameter => !!p);
  }

  /** RoPE on the last qk_rope_head_dim elements of x's last dimension (the rest copied). */
  private rope(x: Tensor, inverse = false): Tensor {
    const ropeDim = this.c.qk_rope_head_dim;
    return ops.rope(x, this.batch!.positions, { theta: this.c.rope_theta, interleave: this.c.rope_interleave, inverse, ropeDim });
  }

  /** x: the normalised hidden states [T, D]; returns the attention output [T, D], plus `residual` (not owned) when given. */
  forward(x: Tensor, batch: BatchLayout, residual?: Tensor): Tensor {
    this.saved.free();
    const c = this.c, s = this.saved, T = batch.batch * batch.seq, H = c.num_attention_heads;
    const dn = c.qk_nope_head_dim, dr = c.qk_rope_head_dim, dv = c.v_head_dim, r = c.kv_lora_rank;
    this.batch = batch;
    const ctx: Record<string, Tensor> = { x };
    // Queries
    let q: Tensor;
    if (this.q) {
      q = linear(x, this.q);
    } else {
      ctx.qa = s.keep(linear(x, this.qA!));
      const n = rmsNorm(ctx.qa, this.qANorm!, c.rms_norm_eps);
      ctx.qaN = s.keep(n.y);
      ctx.qaRstd = s.keep(n.rstd);
      q = linear(ctx.qaN, this.qB!);
    }
    const q3 = reshaped(q, [T, H, dn + dr]);
    ctx.q = s.keep(reshaped(this.rope(q3), [batch.batch, batch.seq, H, dn + dr]));
    q3.dispose();
    // Keys and values from the latent
    const kva = linear(x, this.kvA);
    const [ckv, kPe] = ops.split(kva, [r, dr]);
    kva.dispose();
    ctx.ckv = s.keep(ckv);
    const kvn = rmsNorm(ckv, this.kvANorm, c.rms_norm_eps);
    ctx.ckvN = s.keep(kvn.y);
    ctx.ckvRstd = s.keep(kvn.rstd);
    const kPe3 = reshaped(kPe, [T, 1, dr]);
    const kPeR = this.rope(kPe3);
    kPe3.dispose();
    const kPeH = expandHeads(kPeR, H);
    kPeR.dispose();
    const kv = linear(ctx.ckvN, this.kvB);
    const kv3 = reshaped(kv, [T, H, dn + dv]);
    const [kNope, v] = ops.split(kv3, [dn, dv]);
    kv3.dispose();
    ctx.k = s.keep(reshaped(ops.concat([kNope, kPeH]), [batch.batch, batch.seq, H, dn + dr]));
    ctx.v = s.keep(reshaped(v, [batch.batch, batch.seq, H, dv]));
    free(kNope, kPeH);
    const scale = 1 / Math.sqrt(dn + dr);
    const keepProbs = batch.batch * H * batch.seq * batch.seq <= KEEP_PROBS_MAX_ELEMENTS;
    const att = ops.attention(ctx.q, ctx.k, ctx.v, { scale, causal: true, keepProbs });
    ctx.out = s.keep(att.out);
    ctx.lse = s.keep(att.lse);
    if (att.probs) ctx.probs = s.keep(att.probs);
    ctx.outFlat = s.keep(att.out.reshape([T, H * dv]));
    this.ctx = ctx;
    return linear(ctx.outFlat, this.o, residual);
  }

  /** dy: gradient of the output [T, D]; returns the gradient of x (the normalised input). */
  backward(dy: Tensor): Tensor {
    const c = this.c, ctx = this.ctx, b = this.batch!, T = b.batch * b.seq, H = c.num_attention_heads;
    const dn = c.qk_nope_head_dim, dr = c.qk_rope_head_dim, dv = c.v_head_dim;
    const dOut = reshaped(linearBackward(dy, ctx.outFlat, this.o), [b.batch, b.seq, H, dv]);
    const scale = 1 / Math.sqrt(dn + dr);
    const g = ops.attentionBackward(dOut, ctx.q, ctx.k, ctx.v, ctx.out, ctx.lse, { scale, causal: true, probs: ctx.probs });
    dOut.dispose();
    // Query path
    const dq3 = reshaped(g.dq, [T, H, dn + dr]);
    const dqFlat = reshaped(this.rope(dq3, true), [T, H * (dn + dr)]);
    dq3.dispose();
    let dx: Tensor;
    if (this.q) {
      dx = linearBackward(dqFlat, ctx.x, this.q);
    } else {
      const dqaN = linearBackward(dqFlat, ctx.qaN, this.qB!);
      const dqa = rmsNormBackward(dqaN, ctx.qa, this.qANorm!, ctx.qaRstd);
      dqaN.dispose();
      dx = linearBackward(dqa, ctx.x, this.qA!);
      dqa.dispose();
    }
    dqFlat.dispose();
    // Key/value path
    const dk3 = reshaped(g.dk, [T, H, dn + dr]);
    const [dkNope, dkPeH] = ops.split(dk3, [dn, dr]);
    dk3.dispose();
    const dkPeR = sumHeads(dkPeH);
    dkPeH.dispose();
    const dkPe3 = this.rope(dkPeR, true);
    dkPeR.dispose();
    const dkPe = reshaped(dkPe3, [T, dr]);
    const dv3 = reshaped(g.dv, [T, H, dv]);
    const dkv = reshaped(ops.concat([dkNope, dv3]), [T, H * (dn + dv)]);
    free(dkNope, dv3);
    const dckvN = linearBackward(dkv, ctx.ckvN, this.kvB);
    dkv.dispose();
    const dckv = rmsNormBackward(dckvN, ctx.ckv, this.kvANorm, ctx.ckvRstd);
    dckvN.dispose();
    const dkva = ops.concat([dckv, dkPe]);
    free(dckv, dkPe);
    dx = linearBackward(dkva, ctx.x, this.kvA, dx);
    dkva.dispose();
    this.clearActivations();
    return dx;
  }

  clearActivations(): void {
    this.saved.free();
    this.ctx = {};
  }

  dispose(): void {
    this.saved.free();
    for (const p of this.parameters()) p.dispose();
  }
}

/** [T, 1, d] -> [T, H, d]: the shared RoPE key repeated for every head. */
function expandHeads(x: Tensor, heads: number): Tensor {
  const [T, , d] = x.shape;
  return reshaped(ops.concat(new Array<Tensor>(heads).fill(x)), [T, heads, d]);
}

/** [T, H, d] -> [T, 1, d]: the gradient of expandHeads. */
function sumHeads(x: Tensor): Tensor {
  const [T, H, d] = x.shape;
  const flat = x.reshape([T, 1, H * d]);
  const parts = ops.split(flat, new Array<number>(H).fill(d));
  flat.dispose();
  let sum = parts[0];
  for (let h = 1; h < H; ++h) {
    const next = ops.add(sum, parts[h]);
    sum.dispose();
    parts[h].dispose();
    sum = next;
  }
  return sum;
}
