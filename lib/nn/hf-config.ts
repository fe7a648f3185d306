// The Hugging Face side of the model config: the config.json and generation_config.json that
// transformers' DeepseekV3 reads (every field its configuration and modeling code use), and the
// fields of a foreign config.json that moontrain's model cannot honour, refused by name.
import type { MoonlightConfig } from './config';

export interface HfConfigOptions {
  /** The precision the weights are saved in. */
  precision: 'f32' | 'bf16';
  /** Standard deviation of the initial weights. */
  initializerRange?: number;
  bosTokenId?: number | null;
  eosTokenId?: number | null;
  padTokenId?: number | null;
}

const torchDtype = { f32: 'float32', bf16: 'bfloat16' } as const;

/** config.json for transformers' DeepseekV3ForCausalLM (v4 and v5 read the same file). */
export function hfConfigJson(c: MoonlightConfig, o: HfConfigOptions): Record<string, unknown> {
  return {
    architectures: ['DeepseekV3ForCausalLM'],
    model_type: 'deepseek_v3',
    ...c,
    max_position_embeddings: c.max_position_embeddings ?? 4096,
    // Multi-head latent attention: every head has its own key and value (no grouping).
    num_key_value_heads: c.num_attention_heads,
    hidden_act: 'silu',
    attention_bias: false,
    attention_dropout: 0.0,
    rope_scaling: null,
    initializer_range: o.initializerRange ?? 0.02,
    pretraining_tp: 1,
    use_cache: true,
    torch_dtype: torchDtype[o.precision],
    bos_token_id: o.bosTokenId ?? null,
    eos_token_id: o.eosTokenId ?? null,
    pad_token_id: o.padTokenId ?? null,
  };
}

/** generation_config.json: the special token ids generate() needs. */
export function hfGenerationConfigJson(o: HfConfigOptions): Record<string, unknown> {
  return { bos_token_id: o.bosTokenId ?? null, eos_token_id: o.eosTokenId ?? null, pad_token_id: o.padTokenId ?? null, do_sample: true };
}

function refuse(where: string, field: string, expected: string, got: unknown): Error {
  const e = new Error(`config: field '${field}' in ${where}: expected ${expected}, got ${JSON.stringify(got)}`) as Error & { code: string };
  e.code = 'ERR_MOONTRAIN_BAD_CONFIG';
  return e;
}

/**
 * Reads the Hugging Face-only fields of a config in place: transformers v5 keeps rope_theta in
 * rope_parameters; grouped keys/values, other activations, attention biases and RoPE scaling
 * are not what moontrain's model computes, so they are refused rather than ignored.
 */
export function normaliseHfFields(raw: Record<string, unknown>, where: string): void {
  const rope = (raw.rope_parameters ?? raw.rope_scaling) as Record<string, unknown> | null | undefined;
  if (rope !== undefined && rope !== null) {
    if (typeof rope !== 'object') throw refuse(where, 'rope_parameters', 'an object or null', rope);
    const type = rope.rope_type ?? rope.type ?? 'default';
    if (type !== 'default') throw refuse(where, 'rope_parameters.rope_type', "'default' (no RoPE scaling)", type);
    if (raw.rope_theta === undefined && rope.rope_theta !== undefined) raw.rope_theta = rope.rope_theta;
  }
  if (raw.num_key_value_heads !== undefined && raw.num_key_value_heads !== null && raw.num_key_value_heads !== raw.num_attention_heads)
    throw refuse(where, 'num_key_value_heads', `num_attention_heads (${JSON.stringify(raw.num_attention_heads)})`, raw.num_key_value_heads);
  if (raw.hidden_act !== undefined && raw.hidden_act !== 'silu') throw refuse(where, 'hidden_act', "'silu'", raw.hidden_act);
  if (raw.attention_bias !== undefined && raw.attention_bias !== false) throw refuse(where, 'attention_bias', 'false', raw.attention_bias);
  if (raw.model_type !== undefined && raw.model_type !== 'deepseek_v3')
    throw refuse(where, 'model_type', "'deepseek_v3'", raw.model_type);
}
