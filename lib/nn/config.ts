// The DeepSeek-V3 / Moonlight model config, with Hugging Face config.json field names, presets,
// and analytic parameter and FLOP counts (never computed by allocating a model).
import * as fs from 'fs';
import { normaliseHfFields } from './hf-config';

export interface MoonlightConfig {
  hidden_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  q_lora_rank: number | null;
  kv_lora_rank: number;
  qk_nope_head_dim: number;
  qk_rope_head_dim: number;
  v_head_dim: number;
  intermediate_size: number;
  moe_intermediate_size: number;
  n_routed_experts: number;
  num_experts_per_tok: number;
  n_shared_experts: number;
  first_k_dense_replace: number;
  n_group: number;
  topk_group: number;
  scoring_func: 'sigmoid';
  topk_method: 'noaux_tc';
  norm_topk_prob: boolean;
  routed_scaling_factor: number;
  aux_loss_alpha: number;
  seq_aux: boolean;
  rms_norm_eps: number;
  rope_theta: number;
  rope_interleave: boolean;
  vocab_size: number;
  tie_word_embeddings: boolean;
  max_position_embeddings?: number;
}

/** Moonlight-16B-A3B as published (its config.json; docs/model-and-optimizers.md). */
export const moonlight16bA3b: MoonlightConfig = {
  hidden_size: 2048,
  num_hidden_layers: 27,
  num_attention_heads: 16,
  q_lora_rank: null,
  kv_lora_rank: 512,
  qk_nope_head_dim: 128,
  qk_rope_head_dim: 64,
  v_head_dim: 128,
  intermediate_size: 11264,
  moe_intermediate_size: 1408,
  n_routed_experts: 64,
  num_experts_per_tok: 6,
  n_shared_experts: 2,
  first_k_dense_replace: 1,
  n_group: 1,
  topk_group: 1,
  scoring_func: 'sigmoid',
  topk_method: 'noaux_tc',
  norm_topk_prob: true,
  routed_scaling_factor: 2.446,
  aux_loss_alpha: 0.001,
  seq_aux: true,
  rms_norm_eps: 1e-5,
  rope_theta: 50000,
  rope_interleave: true,
  vocab_size: 163840,
  tie_word_embeddings: false,
  max_position_embeddings: 8192,
};

/** Trains visibly in minutes on 2 cores. */
export const tiny: MoonlightConfig = {
  ...moonlight16bA3b,
  hidden_size: 128,
  num_hidden_layers: 4,
  num_attention_heads: 4,
  kv_lora_rank: 32,
  qk_nope_head_dim: 32,
  qk_rope_head_dim: 16,
  v_head_dim: 32,
  intermediate_size: 384,
  moe_intermediate_size: 64,
  n_routed_experts: 16,
  num_experts_per_tok: 4,
  n_shared_experts: 1,
  first_k_dense_replace: 1,
  routed_scaling_factor: 2.0,
  vocab_size: 2048,
  max_position_embeddings: 512,
};

export const small: MoonlightConfig = {
  ...moonlight16bA3b,
  hidden_size: 384,
  num_hidden_layers: 8,
  num_attention_heads: 6,
  kv_lora_rank: 96,
  qk_nope_head_dim: 48,
  qk_rope_head_dim: 16,
  v_head_dim: 48,
  intermediate_size: 1024,
  moe_intermediate_size: 192,
  n_routed_experts: 32,
  num_experts_per_tok: 4,
  n_shared_experts: 2,
  first_k_dense_replace: 1,
  vocab_size: 8192,
  max_position_embeddings: 1024,
};

export const presets = { tiny, small, 'moonlight-16b-a3b': moonlight16bA3b } as const;
export type PresetName = keyof typeof presets;

const integerFields = [
  'hidden_size', 'num_hidden_layers', 'num_attention_heads', 'kv_lora_rank', 'qk_nope_head_dim', 'qk_rope_head_dim',
  'v_head_dim', 'intermediate_size', 'moe_intermediate_size', 'n_routed_experts', 'num_experts_per_tok',
  'n_shared_experts', 'first_k_dense_replace', 'n_group', 'topk_group', 'vocab_size',
] as const;

/** Reads a Hugging Face config.json (or an object) and checks every field the model uses. */
export function parseConfig(source: string | Partial<MoonlightConfig> | Record<string, unknown>): MoonlightConfig {
  const raw = typeof source === 'string' ? (JSON.parse(fs.readFileSync(source, 'utf8')) as Record<string, unknown>) : (source as Record<string, unknown>);
  const where = typeof source === 'string' ? source : 'config';
  normaliseHfFields(raw, where);
  const bad = (field: string, expected: string) => {
    const e = new Error(`config: field '${field}' in ${where}: expected ${expected}, got ${JSON.stringify(raw[field])}`) as Error & { code: string };
    e.code = 'ERR_MOONTRAIN_BAD_CONFIG';
    return e;
  };
  const c = { ...raw } as Record<string, unknown>;
  // Fields newer than some checkpoints: DeepSeek-V3's defaults.
  c.rope_interleave ??= true;
  c.tie_word_embeddings ??= false;
  c.n_group ??= 1;
  c.topk_group ??= 1;
  c.q_lora_rank ??= null;
  c.n_shared_experts ??= 0;
  c.first_k_dense_replace ??= 0;
  c.aux_loss_alpha ??= 0;
  c.seq_aux ??= false;
  c.scoring_func ??= 'sigmoid';
  c.topk_method ??= 'noaux_tc';
  c.norm_topk_prob ??= true;
  c.routed_scaling_factor ??= 1;
  Object.assign(raw, c);
  for (const f of integerFields) {
    const min = ['n_shared_experts', 'first_k_dense_replace'].includes(f) ? 0 : 1;
    if (!Number.isSafeInteger(c[f]) || (c[f] as number) < min) throw bad(f, `an integer >= ${min}`);
  }
  if (c.q_lora_rank !== null && (!Number.isSafeInteger(c.q_lora_rank) || (c.q_lora_rank as number) < 1)) throw bad('q_lora_rank', 'null or a positive integer');
  if (c.scoring_func !== 'sigmoid') throw bad('scoring_func', "'sigmoid'");
  if (c.topk_method !== 'noaux_tc') throw bad('topk_method', "'noaux_tc'");
  for (const f of ['routed_scaling_factor', 'rms_norm_eps', 'rope_theta', 'aux_loss_alpha'] as const)
    if (typeof c[f] !== 'number' || !Number.isFinite(c[f]) || (c[f] as number) < 0) throw bad(f, 'a finite number >= 0');
  if ((c.rope_theta as number) <= 0) throw bad('rope_theta', 'a finite number > 0 (the RoPE base)');
  for (const f of ['norm_topk_prob', 'seq_aux', 'rope_interleave', 'tie_word_embeddings'] as const)
    if (typeof c[f] !== 'boolean') throw bad(f, 'a boolean');
  const n = c as unknown as MoonlightConfig;
  if (n.num_experts_per_tok > n.n_routed_experts) throw bad('num_experts_per_tok', `at most n_routed_experts (${n.n_routed_experts})`);
  if (n.n_routed_experts % n.n_group !== 0) throw bad('n_group', `a divisor of n_routed_experts (${n.n_routed_experts})`);
  if (n.topk_group > n.n_group) throw bad('topk_group', `at most n_group (${n.n_group})`);
  if (n.qk_rope_head_dim % 2 !== 0) throw bad('qk_rope_head_dim', 'an even number');
  if (n.first_k_dense_replace > n.num_hidden_layers) throw bad('first_k_dense_replace', `at most num_hidden_layers (${n.num_hidden_layers})`);
  return n;
}

export interface ParameterCounts {
  /** All parameters except the token embedding and the LM head (router biases and norms included). */
  total: number;
  /** Parameters one token passes through (top-k routed experts plus shared), same exclusions. */
  activated: number;
  embedding: number;
  lmHead: number;
}

function attentionParams(c: MoonlightConfig): number {
  const h = c.num_attention_heads, d = c.hidden_size;
  const qHead = c.qk_nope_head_dim + c.qk_rope_head_dim;
  const q = c.q_lora_rank === null ? h * qHead * d : c.q_lora_rank * d + c.q_lora_rank + h * qHead * c.q_lora_rank;
  const kvA = (c.kv_lora_rank + c.qk_rope_head_dim) * d;
  const kvB = h * (c.qk_nope_head_dim + c.v_head_dim) * c.kv_lora_rank;
  const o = d * h * c.v_head_dim;
  return q + kvA + c.kv_lora_rank + kvB + o;
}

export function countParameters(c: MoonlightConfig): ParameterCounts {
  const d = c.hidden_size;
  const mlp = (width: number) => 3 * d * width;
  const norms = 2 * d;
  const dense = c.first_k_dense_replace * (attentionParams(c) + mlp(c.intermediate_size) + norms);
  const moeLayers = c.num_hidden_layers - c.first_k_dense_replace;
  const router = c.n_routed_experts * d + c.n_routed_experts;
  const shared = c.n_shared_experts > 0 ? mlp(c.moe_intermediate_size * c.n_shared_experts) : 0;
  const moeTotal = attentionParams(c) + c.n_routed_experts * mlp(c.moe_intermediate_size) + shared + router + norms;
  const moeActive = attentionParams(c) + c.num_experts_per_tok * mlp(c.moe_intermediate_size) + shared + router + norms;
  const embedding = c.vocab_size * d;
  return {
    total: dense + moeLayers * moeTotal + d,
    activated: dense + moeLayers * moeActive + d,
    embedding,
    lmHead: c.tie_word_embeddings ? 0 : embedding,
  };
}

/**
 * Training FLOPs per token at sequence length seqLen: 6 × (activated parameters + LM head) for
 * the matrix products, plus attention's score and value products (causal: half the square),
 * forward and backward (×3).
 */
export function flopsPerToken(c: MoonlightConfig, seqLen: number): number {
  const p = countParameters(c);
  const head = c.tie_word_embeddings ? c.vocab_size * c.hidden_size : p.lmHead;
  const qk = c.qk_nope_head_dim + c.qk_rope_head_dim;
  // Per token, per layer: 2·S_avg·H·(qk + v) forward with S_avg = (seqLen + 1)/2 for a causal mask.
  const attention = c.num_hidden_layers * 2 * ((seqLen + 1) / 2) * c.num_attention_heads * (qk + c.v_head_dim);
  return 6 * (p.activated + head) + 3 * attention;
}
