// The MoE feed-forward of Moonlight / DeepSeek-V3: a sigmoid router in fp32 choosing top-k
// experts on score + correction bias ("noaux_tc"), routed experts run as grouped GEMMs over
// tokens sorted by expert (no padding), shared experts as one SwiGLU, the sequence-wise
// auxiliary loss, and the aux-loss-free bias update after each step.
import type { DType, Tensor } from '../../types/core';
import { ops } from '../ops';
import { tensor } from '../tensor';
import type { MoonlightConfig } from './config';
import { addInto } from './functional';
import type { ParameterSource } from './init';
import { SwiGLU } from './mlp';
import type { Parameter } from './parameter';
import { Saved, free } from './saved-tensors';

export interface RouterStats {
  /** Tokens routed to each expert in the last forward. */
  load: Int32Array;
  auxLoss: number;
}

export class MoE {
  readonly router: Parameter;       // gate.weight [E, D], fp32
  readonly bias: Parameter;         // gate.e_score_correction_bias [E], fp32, rule-updated
  readonly gate: Parameter;         // experts' gate_proj stacked [E, I, D]
  readonly up: Parameter;           // [E, I, D]
  readonly down: Parameter;         // [E, D, I]
  readonly shared: SwiGLU | null;
  private readonly saved = new Saved();
  private ctx: {
    x: Tensor; x32: Tensor; scores: Tensor; experts: Tensor; weights: Tensor; order: Tensor;
    groups: Tensor; xs: Tensor; g: Tensor; u: Tensor; a: Tensor; ys: Tensor; dAux: Tensor | null;
  } | null = null;
  /** i32 [E]: tokens per expert in the last forward (its group sizes; read only when asked for). */
  private load: Tensor | null = null;
  private auxLoss = 0;

  constructor(private readonly c: MoonlightConfig, readonly prefix: string, private readonly dtype: DType, src: ParameterSource) {
    const E = c.n_routed_experts, D = c.hidden_size, I = c.moe_intermediate_size;
    this.router = src.make(`${prefix}.gate.weight`, [E, D], 'matrix', 'normal', 'f32');
    this.bias = src.make(`${prefix}.gate.e_score_correction_bias`, [E], 'bias', 'zeros', 'f32', false);
    const stack = (name: string, rows: number, cols: number) => src.make(`${prefix}.experts.${name}.weight`, [E, rows, cols], 'experts', 'normal', dtype);
    this.gate = stack('gate_proj', I, D);
    this.up = stack('up_proj', I, D);
    this.down = stack('down_proj', D, I);
    this.shared = c.n_shared_experts > 0 ? new SwiGLU(`${prefix}.shared_experts`, D, I * c.n_shared_experts, dtype, src) : null;
  }

  get stats(): RouterStats {
    return { load: this.load ? this.load.toInt32Array() : new Int32Array(this.c.n_routed_experts), auxLoss: this.auxLoss };
  }

  parameters(): Parameter[] {
    return [this.router, this.bias, this.gate, this.up, this.down, ...(this.shared?.parameters() ?? [])];
  }

  /** x: normalised hidden states [T, D] (kept until backward). Returns [T, D], plus `residual` (not owned) when given. */
  forward(x: Tensor, batch: number, seq: number, residual?: Tensor): Tensor {
    this.saved.free();
    const c = this.c, s = this.saved, k = c.num_experts_per_tok, E = c.n_routed_experts;
    const x32 = s.keep(x.dtype === 'f32' ? x.reshape(x.shape) : ops.copy(x, { dtype: 'f32' }));
    const logits = ops.matmul(x32, this.router.value, { transB: true });
    const route = ops.moeRoute(logits, this.bias.value, {
      topK: k, normTopk: c.norm_topk_prob, scalingFactor: c.routed_scaling_factor, nGroup: c.n_group, topkGroup: c.topk_group,
    });
    logits.dispose();
    const scores = s.keep(route.scores);
    const weights = s.keep(route.weights);
    const experts = s.keep(route.experts);
    const perm = ops.moePermute(x, experts, E);
    const order = s.keep(perm.order);
    this.load?.dispose();
    this.load = perm.groupSizes;
    const xs = s.keep(perm.xs);
    const g = s.keep(ops.groupedMatmul(xs, this.gate.value, perm.groupSizes, { transB: true }));
    const u = s.keep(ops.groupedMatmul(xs, this.up.value, perm.groupSizes, { transB: true }));
    const a = s.keep(ops.swiglu(g, u));
    const ys = s.keep(ops.groupedMatmul(a, this.down.value, perm.groupSizes, { transB: true }));
    let y = ops.moeUnpermute(ys, order, weights);
    let dAux: Tensor | null = null;
    let auxLoss = 0;
    if (c.seq_aux && c.aux_loss_alpha > 0) {
      const aux = ops.moeSeqAuxLoss(scores, experts, { batch, seqLen: seq, topK: k, alpha: c.aux_loss_alpha });
      auxLoss = aux.loss;
      dAux = s.keep(aux.dscores);
    }
    if (this.shared) y = addInto(y, this.shared.forward(x, residual));
    else if (residual) {
      const sum = ops.add(y, residual);
      y.dispose();
      y = sum;
    }
    this.auxLoss = auxLoss;
    this.ctx = { x, x32, scores, experts, weights, order, groups: perm.groupSizes, xs, g, u, a, ys, dAux };
    return y;
  }

  /** dy: [T, D]; returns the gradient of x. Includes the auxiliary loss's gradient. */
  backward(dy: Tensor): Tensor {
    const c = this.c, ctx = this.ctx!, k = c.num_experts_per_tok;
    // Routed experts
    const { dys, dweights } = ops.moeUnpermuteBackward(dy, ctx.ys, ctx.order, ctx.weights);
    const da = ops.groupedMatmul(dys, this.down.value, ctx.groups);
    this.down.accumulateGrad(ops.groupedWeightGrad(dys, ctx.a, ctx.groups));
    dys.dispose();
    const { dgate, dup } = ops.swigluBackward(da, ctx.g, ctx.u);
    da.dispose();
    this.gate.accumulateGrad(ops.groupedWeightGrad(dgate, ctx.xs, ctx.groups));
    this.up.accumulateGrad(ops.groupedWeightGrad(dup, ctx.xs, ctx.groups));
    const dxGate = ops.groupedMatmul(dgate, this.gate.value, ctx.groups);
    const dxs = ops.groupedMatmul(dup, this.up.value, ctx.groups, { add: dxGate });
    dxGate.dispose();
    free(dgate, dup);
    let dx = ops.moePermuteBackward(dxs, ctx.order, k);
    dxs.dispose();
    // Router (fp32): through the weights, plus the auxiliary loss on the scores
    const dlogits = ops.moeRouteBackward(dweights, ctx.scores, ctx.experts, {
      normTopk: c.norm_topk_prob, scalingFactor: c.routed_scaling_factor, dscores: ctx.dAux ?? undefined,
    });
    dweights.dispose();
    this.router.accumulateGrad(ops.matmul(dlogits, ctx.x32, { transA: true }));
    const dx32 = ops.matmul(dlogits, this.router.value);
    dlogits.dispose();
    const dxRouter = dx32.dtype === this.dtype ? dx32 : ops.copy(dx32, { dtype: this.dtype });
    if (dxRouter !== dx32) dx32.dispose();
    dx = addInto(dx, dxRouter);
    if (this.shared) dx = this.shared.backward(dy, dx);
    this.clearActivations();
    return dx;
  }

  /**
   * Moonlight's aux-loss-free balancing (docs/model-and-optimizers.md, MoE balancing): b_i += u·(sign(e_i) − mean_j sign(e_j))
   * with e_i = (mean load − load_i)/mean load, from the loads of the last forward (summed over
   * ranks by the caller when distributed).
   */
  updateBias(rate: number, load: Int32Array | Float64Array = this.stats.load): void {
    const E = load.length;
    let mean = 0;
    for (let i = 0; i < E; ++i) mean += load[i];
    mean /= E;
    if (mean === 0 || rate === 0) return;
    const sign = Array.from(load, (l) => Math.sign((mean - l) / mean));
    const meanSign = sign.reduce((a, b) => a + b, 0) / E;
    const b = this.bias.value.toFloat32Array();
    for (let i = 0; i < E; ++i) b[i] += rate * (sign[i] - meanSign);
    this.bias.set(tensor(b, [E], { device: this.bias.value.device }));
  }

  /** Scales the auxiliary loss's gradient kept by the last forward (a micro-batch's share). */
  scaleAuxGradient(scale: number): void {
    if (this.ctx?.dAux) ops.scaleInPlace(this.ctx.dAux, scale);
  }

  clearActivations(): void {
    this.saved.free();
    this.ctx = null;
    this.shared?.clearActivations();
  }

  dispose(): void {
    this.saved.free();
    this.load?.dispose();
    this.load = null;
    for (const p of this.parameters()) p.dispose();
  }
}
