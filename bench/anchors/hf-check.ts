// The check against transformers itself: a moontrain checkpoint loaded by
// AutoModelForCausalLM.from_pretrained gives moontrain's logits (f32, relative <= 1e-4), and what
// transformers' save_pretrained writes loads back into moontrain with the same logits; for
// rope_interleave true and false and both expert layouts moontrain saves. Needs a Python with
// torch and transformers (MOONTRAIN_PYTHON): the GPU host's device run has one (only its CPU is
// used). `npx tsx bench/anchors/hf-check.ts [--json FILE]`.
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { nn, ops, tensor } from '../../lib';
import { packageRoot } from '../../lib/native';
import type { ExpertFormat } from '../../lib/nn/expert-layout';
import { PYTHON } from './torch-twin-check';

export const TOLERANCE = 1e-4;

export function transformersAvailable(): string | null {
  try {
    execFileSync(PYTHON, ['-c', 'import torch, transformers, safetensors'], { stdio: 'ignore' });
    return null;
  } catch {
    return `${PYTHON} with torch, transformers and safetensors is not available (set MOONTRAIN_PYTHON)`;
  }
}

/** A small config with every part of the model: a dense layer, MoE layers with grouped routing, shared experts. */
const checkConfig = {
  ...nn.tiny,
  hidden_size: 64, num_hidden_layers: 3, num_attention_heads: 4, kv_lora_rank: 16, qk_nope_head_dim: 16,
  qk_rope_head_dim: 8, v_head_dim: 16, intermediate_size: 96, moe_intermediate_size: 32, n_routed_experts: 8,
  num_experts_per_tok: 3, n_shared_experts: 1, first_k_dense_replace: 1, n_group: 2, topk_group: 1,
  vocab_size: 211, max_position_embeddings: 64, rope_theta: 10000,
};

/** Logits [B, S, V] of a batch: the next-token logits of every prefix (the model is causal). */
function allLogits(model: nn.MoonlightModel, ids: number[][]): Float32Array {
  const V = model.config.vocab_size;
  const out = new Float32Array(ids.length * ids[0]!.length * V);
  let o = 0;
  for (const row of ids)
    for (let s = 1; s <= row.length; ++s, o += V) out.set(model.nextTokenLogits(Int32Array.from(row.slice(0, s))), o);
  return out;
}

/** max |a - b| / max |b|. */
function relError(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Infinity;
  let num = 0, den = 0;
  for (let i = 0; i < a.length; ++i) {
    num = Math.max(num, Math.abs(a[i]! - b[i]!));
    den = Math.max(den, Math.abs(b[i]!));
  }
  return num / den;
}

export interface HfCase {
  rope_interleave: boolean;
  format: ExpertFormat;
  /** transformers' logits of moontrain's checkpoint against moontrain's. */
  loadRel: number;
  /** moontrain's logits of transformers' save_pretrained output against transformers'. */
  reloadRel: number;
  savedLayout: string;
  transformers: string;
  pass: boolean;
}

export function hfCheck(): HfCase[] {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'moontrain-hf-'));
  const script = path.join(packageRoot, 'bench', 'anchors', 'hf_check.py');
  const cases: HfCase[] = [];
  try {
    let state = 7;
    const next = () => ((state = (state * 1103515245 + 12345) >>> 0) >>> 8) % checkConfig.vocab_size;
    const ids = Array.from({ length: 2 }, () => Array.from({ length: 12 }, next));
    const batchFile = path.join(dir, 'batch.json');
    fs.writeFileSync(batchFile, JSON.stringify({ ids }));
    for (const rope_interleave of [true, false])
      for (const format of ['per-expert', 'fused'] as const) {
        const name = `interleave-${rope_interleave}-${format}`;
        const model = new nn.MoonlightModel({ ...checkConfig, rope_interleave }, { precision: 'f32', seed: 11, initStd: 0.08 });
        for (const m of model.moeLayers()) {
          const bias = tensor(Float32Array.from({ length: checkConfig.n_routed_experts }, (_, i) => 0.01 * (((i * 5) % 7) - 3)), [checkConfig.n_routed_experts]);
          ops.assign(m.bias.value, bias);
          bias.dispose();
        }
        const ours = allLogits(model, ids);
        const checkpoint = path.join(dir, name, 'checkpoint');
        model.save(checkpoint, { format });
        model.dispose();
        const saveDir = path.join(dir, name, 'transformers');
        const report = JSON.parse(execFileSync(PYTHON, [script, checkpoint, batchFile, saveDir], { encoding: 'utf8' }).trim().split('\n').pop()!);
        const theirs = new Float32Array(fs.readFileSync(path.join(saveDir, 'logits.f32')).buffer.slice(0));
        const back = nn.MoonlightModel.load(path.join(saveDir, 'model'), { precision: 'f32' });
        const reloaded = allLogits(back, ids);
        back.dispose();
        const loadRel = relError(theirs, ours), reloadRel = relError(reloaded, theirs);
        cases.push({
          rope_interleave, format, loadRel, reloadRel, savedLayout: report.saved_expert_layout, transformers: report.transformers,
          pass: loadRel <= TOLERANCE && reloadRel <= TOLERANCE,
        });
      }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return cases;
}

if (require.main === module) {
  const why = transformersAvailable();
  if (why) {
    console.log(`hf-check: skipped: ${why}`);
    process.exit(0);
  }
  const cases = hfCheck();
  for (const c of cases)
    console.log(`rope_interleave=${c.rope_interleave} ${c.format}: transformers vs moontrain ${c.loadRel.toExponential(2)}, ` +
      `save_pretrained (${c.savedLayout}) back in moontrain ${c.reloadRel.toExponential(2)}  ${c.pass ? 'PASS' : 'FAIL'}`);
  const json = process.argv.indexOf('--json');
  if (json > 0) fs.writeFileSync(process.argv[json + 1]!, `${JSON.stringify({ tolerance: TOLERANCE, cases }, null, 2)}\n`);
  process.exitCode = cases.every((c) => c.pass) ? 0 : 1;
}
