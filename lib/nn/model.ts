// The Moonlight / DeepSeek-V3 decoder: embedding, decoder layers (MLA attention; dense SwiGLU
// for the first first_k_dense_replace layers, MoE after), final RMSNorm, LM head, cross-entropy.
// Parameter names are Hugging Face DeepseekV3's; experts are stacked [E, out, in] internally
// and written one matrix per expert.
import type { DType, Device, Tensor } from '../../types/core';
import { ops } from '../ops';
import * as fs from 'fs';
import * as path from 'path';
import { writeFileAtomic } from '../io/atomic';
import { checksumMetadata } from '../io/checksum';
import { saveSafetensors } from '../io/safetensors';
import { openLazyTensors } from '../io/safetensors-lazy';
import { tensor } from '../tensor';
import type { BatchLayout } from './attention';
import { DecoderLayer } from './block';
import { MoonlightConfig, PresetName, countParameters, parseConfig, presets } from './config';
import { linear, linearBackward, rmsNorm, rmsNormBackward } from './functional';
import { ExpertFormat, expertName, fusedLocation } from './expert-layout';
import { hfConfigJson, hfGenerationConfigJson } from './hf-config';
import { checkDevice } from './device';
import { CheckpointSource, ParameterSource, RandomInit } from './init';
import { MoE } from './moe';
import type { Parameter } from './parameter';
import { Saved } from './saved-tensors';
import { untrackedMemory } from '../runtime';

/** What loss() keeps for backward(). */
interface ForwardContext {
  ids: Int32Array;
  targets: Int32Array;
  xs: Tensor[];
  hf: Tensor;
  rstd: Tensor;
  /** The gradient of the mean loss with respect to the logits (null after loss(..., { backward: false })). */
  dlogits: Tensor | null;
}

export interface LossOptions {
  /**
   * Whether a backward() follows (default true): the loss then also leaves the logits' gradient
   * in place of the logits, in the same pass. Evaluation passes false.
   */
  backward?: boolean;
  /**
   * The gradient that backward() accumulates is that of gradScale × the cross-entropy plus
   * auxGradScale × the auxiliary losses (defaults 1 and gradScale): a micro-batch's share of a
   * larger batch's mean over tokens (cross-entropy) and over sequences (the sequence-wise aux loss).
   */
  gradScale?: number;
  auxGradScale?: number;
}

export interface ModelOptions {
  /** Storage and compute type of the weights and activations; the router always runs in fp32. */
  precision?: DType;
  seed?: number;
  /** Standard deviation of the initial weights (DeepSeek-V3's initializer_range). */
  initStd?: number;
  /** Where weights, activations and gradients live (default 'cpu'). */
  device?: Device;
}

/** Options of MoonlightModel.save. */
export interface SaveOptions {
  /** Expert weights one matrix per expert (default) or transformers v5's fused tensors. */
  format?: ExpertFormat;
  /** The tokenizer's special token ids, written into config.json and generation_config.json (default: the config's bos_token_id, eos_token_id, pad_token_id). */
  tokens?: { bosTokenId?: number | null; eosTokenId?: number | null; padTokenId?: number | null };
}

export class MoonlightModel {
  readonly config: MoonlightConfig;
  readonly precision: DType;
  readonly device: Device;
  /** Standard deviation of the initial weights (written as config.json's initializer_range). */
  readonly initStd: number;
  readonly embed: Parameter;
  readonly layers: DecoderLayer[];
  readonly norm: Parameter;
  readonly head: Parameter | null;
  private readonly saved = new Saved();
  private ctx: ForwardContext | null = null;
  /** From the last forward: mean cross-entropy, summed auxiliary losses, per-layer expert loads. */
  lastStats = { loss: NaN, auxLoss: 0, tokens: 0 };

  constructor(config: MoonlightConfig | Record<string, unknown>, options: ModelOptions = {}, source?: ParameterSource) {
    const c = (this.config = parseConfig(config));
    const dtype = (this.precision = options.precision ?? 'bf16');
    if (dtype !== 'f32' && dtype !== 'bf16') throw new Error(`MoonlightModel: option 'precision': expected 'f32' or 'bf16', got ${JSON.stringify(dtype)}`);
    this.initStd = options.initStd ?? 0.02;
    this.device = checkDevice('MoonlightModel', options.device);
    const src = source ?? new RandomInit(options.seed ?? 1, this.initStd);
    const V = c.vocab_size, D = c.hidden_size;
    this.embed = src.make('model.embed_tokens.weight', [V, D], 'embedding', 'normal', dtype);
    this.layers = [];
    for (let i = 0; i < c.num_hidden_layers; ++i) this.layers.push(new DecoderLayer(c, i, dtype, src));
    this.norm = src.make('model.norm.weight', [D], 'norm', 'ones', dtype);
    this.head = c.tie_word_embeddings ? null : src.make('lm_head.weight', [V, D], 'head', 'normal', dtype);
    // Made on the host (the seeded initialisation and the checkpoint readers are host code), then moved.
    if (this.device !== 'cpu') for (const p of this.parameters()) p.set(p.value.to(this.device));
  }

  /**
   * Loads a model: a directory with config.json and model.safetensors (or a sharded
   * model.safetensors.index.json, as Hugging Face writes it), or a .safetensors file with the
   * config passed in options.
   */
  static load(dirOrFile: string, options: ModelOptions & { config?: MoonlightConfig | Record<string, unknown> } = {}): MoonlightModel {
    const dir = fs.statSync(dirOrFile).isDirectory() ? dirOrFile : path.dirname(dirOrFile);
    const configFile = path.join(dir, 'config.json');
    const config = options.config ?? (fs.existsSync(configFile) ? parseConfig(configFile) : undefined);
    if (!config) throw new Error(`MoonlightModel.load: no config.json in ${dir}; pass options.config`);
    return new MoonlightModel(config, options, new CheckpointSource(openLazyTensors(dirOrFile)));
  }

  /**
   * Writes the weights with Hugging Face DeepseekV3 names: one matrix per expert (as DeepSeek-V3
   * and Moonlight checkpoints hold them), or transformers v5's fused expert tensors with
   * `format: 'fused'`. A path ending in .safetensors is one file; otherwise a directory with
   * model.safetensors, config.json and generation_config.json.
   */
  save(target: string, options: SaveOptions = {}): void {
    const format = options.format ?? 'per-expert';
    if (format !== 'per-expert' && format !== 'fused')
      throw new Error(`MoonlightModel.save: option 'format': expected 'per-expert' or 'fused', got ${JSON.stringify(format)}`);
    const file = target.endsWith('.safetensors') ? target : path.join(target, 'model.safetensors');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const out = new Map<string, Tensor>();
    const temporary: Tensor[] = [];
    const gates = new Map<string, Tensor>();
    for (const p of this.parameters()) {
      if (p.kind !== 'experts') {
        out.set(p.name, p.value);
        continue;
      }
      const fused = fusedLocation(p.name);
      if (format === 'per-expert') {
        // One tensor per expert, split off the stack in its own dtype (no float copy of the stack).
        const [E, ...inner] = p.value.shape;
        ops.split(p.value, new Array<number>(E).fill(1), { axis: 0 }).forEach((piece, j) => {
          const t = piece.reshape(inner);
          piece.dispose();
          temporary.push(t);
          out.set(expertName(p.name, j), t);
        });
      } else if (fused.half === null) {
        out.set(fused.name, p.value);
      } else if (fused.half === 0) {
        gates.set(fused.name, p.value);
      } else {
        // gate_up_proj [E, 2I, D]: each expert's gate rows, then its up rows.
        const t = ops.concat([gates.get(fused.name)!, p.value], { axis: 1 });
        temporary.push(t);
        out.set(fused.name, t);
      }
    }
    try {
      saveSafetensors(file, out, { format: 'pt', ...checksumMetadata(out) });
    } finally {
      for (const t of temporary) t.dispose();
    }
    if (!target.endsWith('.safetensors')) {
      // Token ids: the options', else the config's (a model loaded from a Hugging Face folder keeps its own).
      const c = this.config as unknown as Record<string, number | null | undefined>;
      const fromConfig = { bosTokenId: c.bos_token_id, eosTokenId: c.eos_token_id, padTokenId: c.pad_token_id };
      const hf = { precision: this.precision, initializerRange: this.initStd, ...fromConfig, ...options.tokens };
      writeFileAtomic(path.join(target, 'config.json'), `${JSON.stringify(hfConfigJson(this.config, hf), null, 2)}\n`);
      writeFileAtomic(path.join(target, 'generation_config.json'), `${JSON.stringify(hfGenerationConfigJson(hf), null, 2)}\n`);
    }
  }

  static fromPreset(name: PresetName, options: ModelOptions = {}): MoonlightModel {
    if (!(name in presets)) throw new Error(`MoonlightModel.fromPreset: argument 'name': expected one of ${Object.keys(presets).join(', ')}, got ${JSON.stringify(name)}`);
    return new MoonlightModel(presets[name], options);
  }

  parameters(): Parameter[] {
    return [this.embed, ...this.layers.flatMap((l) => l.parameters()), this.norm, ...(this.head ? [this.head] : [])];
  }

  namedParameters(): [string, Parameter][] {
    return this.parameters().map((p) => [p.name, p]);
  }

  moeLayers(): MoE[] {
    return this.layers.map((l) => l.mlp).filter((m): m is MoE => m instanceof MoE);
  }

  parameterCounts() {
    return countParameters(this.config);
  }

  /**
   * Forward pass. ids and targets: Int32Array [batch × seq] (a target < 0 is ignored). Returns
   * the mean cross-entropy; the auxiliary losses (if any) are in lastStats and in the gradient.
   */
  loss(ids: Int32Array, targets: Int32Array, shape: readonly [number, number], options: LossOptions = {}): number {
    const [B, S] = this.checkBatch(ids, targets, shape);
    for (const k of ['gradScale', 'auxGradScale'] as const)
      if (options[k] !== undefined && !(typeof options[k] === 'number' && Number.isFinite(options[k])))
        throw new Error(`MoonlightModel.loss: option '${k}': expected a finite number, got ${String(options[k])}`);
    return untrackedMemory(() => {
      const { xs, hf, rstd, logits } = this.forward(ids, B, S);
      const backward = options.backward ?? true;
      const ce = ops.crossEntropy(logits, targets, { gradInPlace: backward });
      ce.lse.dispose();
      const scale = options.gradScale ?? 1, auxScale = options.auxGradScale ?? scale;
      if (backward && scale !== 1) ops.scaleInPlace(ce.dlogits!, scale);
      if (backward && auxScale !== 1) for (const m of this.moeLayers()) m.scaleAuxGradient(auxScale);
      if (!backward) this.saved.drop(logits);
      this.ctx = { ids, targets, xs, hf, rstd, dlogits: ce.dlogits ?? null };
      const auxLoss = this.moeLayers().reduce((a, m) => a + m.stats.auxLoss, 0);
      this.lastStats = { loss: ce.loss, auxLoss, tokens: ce.count };
      return ce.loss;
    });
  }

  /** Next-token logits after the last position of one sequence (for sampling); keeps nothing. */
  nextTokenLogits(ids: Int32Array): Float32Array {
    this.checkBatch(ids, ids, [1, ids.length]);
    const { logits } = this.forward(ids, 1, ids.length);
    const V = this.config.vocab_size;
    const all = logits.toFloat32Array();
    this.clearActivations();
    return all.slice((ids.length - 1) * V, ids.length * V);
  }

  private checkBatch(ids: Int32Array, targets: Int32Array, shape: readonly [number, number]): [number, number] {
    const [B, S] = shape;
    if (!Number.isSafeInteger(B) || !Number.isSafeInteger(S) || B < 1 || S < 1)
      throw new Error(`MoonlightModel.loss: argument 'shape': expected [batch, seq] of positive integers, got ${JSON.stringify(shape)}`);
    for (const [name, a] of [['ids', ids], ['targets', targets]] as const)
      if (!(a instanceof Int32Array) || a.length !== B * S)
        throw new Error(`MoonlightModel.loss: argument '${name}': expected an Int32Array of ${B * S} token ids, got ${a instanceof Int32Array ? `length ${a.length}` : typeof a}`);
    return [B, S];
  }

  private forward(ids: Int32Array, B: number, S: number) {
    this.release();
    const s = this.saved;
    const positionList = new Int32Array(B * S);
    for (let i = 0; i < B * S; ++i) positionList[i] = i % S;
    const positions = s.keep(tensor(positionList, [B * S], { dtype: 'i32', device: this.device }));  // one index tensor for every layer's RoPE
    const batch: BatchLayout = { batch: B, seq: S, positions };
    const xs: Tensor[] = [s.keep(ops.embedding(this.embed.value, ids))];
    for (const layer of this.layers) xs.push(s.keep(layer.forward(xs[xs.length - 1], batch)));
    const n = rmsNorm(xs[xs.length - 1], this.norm, this.config.rms_norm_eps);
    const hf = s.keep(n.y), rstd = s.keep(n.rstd);
    const logits = s.keep(linear(hf, this.head ?? this.embed));
    return { xs, hf, rstd, logits };
  }

  /** Backward of the last loss(): accumulates .grad of every trainable parameter. */
  backward(): void {
    const ctx = this.ctx;
    if (!ctx) throw new Error('MoonlightModel.backward: call loss() first (each loss() allows one backward())');
    untrackedMemory(() => this.backwardFrom(ctx));
  }

  private backwardFrom(ctx: ForwardContext): void {
    if (!ctx.dlogits) throw new Error('MoonlightModel.backward: the last loss() was called with { backward: false }');
    const dhf = linearBackward(ctx.dlogits, ctx.hf, this.head ?? this.embed);
    this.saved.drop(ctx.dlogits);
    let dx = rmsNormBackward(dhf, ctx.xs[ctx.xs.length - 1], this.norm, ctx.rstd);
    dhf.dispose();
    for (let i = this.layers.length - 1; i >= 0; --i) {
      const next = this.layers[i].backward(dx);
      dx.dispose();
      dx = next;
    }
    this.embed.accumulateGrad(ops.embeddingBackward(dx, ctx.ids, this.config.vocab_size));
    dx.dispose();
    this.release();
  }

  /** The aux-loss-free bias update of every MoE layer, from the last forward's loads. */
  updateRouterBias(rate = 1e-3): void {
    for (const m of this.moeLayers()) m.updateBias(rate);
  }

  zeroGrad(): void {
    for (const p of this.parameters()) p.zeroGrad();
  }

  /** Frees the activations kept for backward (after an evaluation-only forward). */
  clearActivations(): void {
    this.release();
    for (const l of this.layers) l.clearActivations();
  }

  private release(): void {
    this.saved.free();
    this.ctx = null;
  }

  dispose(): void {
    this.release();
    for (const l of this.layers) l.dispose();
    this.embed.dispose();
    this.norm.dispose();
    this.head?.dispose();
  }
}
