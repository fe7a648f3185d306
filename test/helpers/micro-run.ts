// A micro model config and a synthetic token file, for tests that run the command line.
import * as fs from 'fs';
import * as path from 'path';
import { writeLlmcTokenFile } from '../../lib/data';

export const microConfig = {
  hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 2, q_lora_rank: null, kv_lora_rank: 8, qk_nope_head_dim: 8,
  qk_rope_head_dim: 4, v_head_dim: 8, intermediate_size: 48, moe_intermediate_size: 16, n_routed_experts: 4,
  num_experts_per_tok: 2, n_shared_experts: 1, first_k_dense_replace: 1, n_group: 1, topk_group: 1, scoring_func: 'sigmoid',
  topk_method: 'noaux_tc', norm_topk_prob: true, routed_scaling_factor: 1, aux_loss_alpha: 0.001, seq_aux: true,
  rms_norm_eps: 1e-5, rope_theta: 10000, rope_interleave: true, vocab_size: 300, tie_word_embeddings: false,
};

/** Writes config.json and tokens.bin (llm.c format) into dir; returns their paths. */
export function writeMicroRun(dir: string): { config: string; data: string } {
  const data = path.join(dir, 'tokens.bin');
  writeLlmcTokenFile(data, Int32Array.from({ length: 40000 }, (_, i) => ((i * 13) ^ (i >> 4)) % 300), 2);
  const config = path.join(dir, 'config.json');
  fs.writeFileSync(config, JSON.stringify(microConfig));
  return { config, data };
}

/** Writes story.txt (3,000 words of a 15-word vocabulary) and big-vocab.json (microConfig, vocab_size 2048), for text runs. */
export function writeStoryRun(dir: string): { story: string; bigVocab: string } {
  const story = path.join(dir, 'story.txt');
  const words = ['the', 'cat', 'sat', 'on', 'a', 'mat', 'and', 'dog', 'ran', 'far', 'away', 'while', 'birds', 'sang', 'softly'];
  fs.writeFileSync(story, Array.from({ length: 3000 }, (_, i) => words[(i * 7 + (i >> 3)) % words.length]).join(' ') + '.\n');
  const bigVocab = path.join(dir, 'big-vocab.json');
  fs.writeFileSync(bigVocab, JSON.stringify({ ...microConfig, vocab_size: 2048 }));
  return { story, bigVocab };
}
