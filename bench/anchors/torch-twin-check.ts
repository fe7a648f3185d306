// Compares moontrain's loss and every gradient with the PyTorch twin (bench/anchors/torch_twin.py)
// on the same weights and batch, in fp32. Used by test/nn/torch-twin.test.ts and by
// `npx tsx bench/anchors/torch-twin-check.ts [--json FILE]`.
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { io, nn } from '../../lib';
import { packageRoot } from '../../lib/native';
import { expertName } from '../../lib/nn/expert-layout';

/** The Python that runs the PyTorch anchors: MOONTRAIN_PYTHON, else Debian's. */
export const PYTHON = process.env.MOONTRAIN_PYTHON ?? '/usr/bin/python3';

export function torchAvailable(): string | null {
  try {
    execFileSync(PYTHON, ['-c', 'import torch, numpy'], { stdio: 'ignore' });
    return null;
  } catch {
    return `${PYTHON} with torch is not installed (Debian: apt-get install python3-torch)`;
  }
}

export interface TwinReport {
  config: string;
  loss: { moontrain: number; torch: number; rel: number };
  auxLoss: { moontrain: number; torch: number };
  worstGradient: { name: string; rel: number };
  gradients: number;
  torchSeconds: number;
}

export function compareWithTorch(label: string, config: nn.MoonlightConfig, B: number, S: number, seed: number): TwinReport {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'moontrain-twin-'));
  const model = new nn.MoonlightModel(config, { precision: 'f32', seed, initStd: 0.1 });
  let state = seed;
  const next = () => ((state = (state * 1103515245 + 12345) >>> 0) >>> 8) % config.vocab_size;
  const ids = Int32Array.from({ length: B * S }, next);
  const targets = Int32Array.from({ length: B * S }, (_, i) => (i % 7 === 3 ? -100 : next()));
  model.save(dir);
  const loss = model.loss(ids, targets, [B, S]);
  const aux = model.lastStats.auxLoss;
  model.backward();
  fs.writeFileSync(path.join(dir, 'batch.json'), JSON.stringify({ ids: [...ids], targets: [...targets], shape: [B, S] }));
  const out = path.join(dir, 'grads.safetensors');
  const twin = path.join(packageRoot, 'bench', 'anchors', 'torch_twin.py');
  const printed = JSON.parse(execFileSync(PYTHON, [twin, '--model', dir, '--batch', path.join(dir, 'batch.json'), '--out', out]).toString());
  const { tensors } = io.loadSafetensors(out);
  let worst = { name: '', rel: 0 }, count = 0;
  for (const p of model.parameters()) {
    if (!p.requiresGrad) continue;
    const ours = p.grad!.toFloat32Array();
    const theirs = new Float32Array(ours.length);
    if (p.kind === 'experts') {
      const per = ours.length / p.value.shape[0];
      for (let j = 0; j < p.value.shape[0]; ++j) theirs.set(take(tensors, expertName(p.name, j)), j * per);
    } else {
      theirs.set(take(tensors, p.name));
    }
    let err = 0, ref = 0;
    for (let i = 0; i < ours.length; ++i) {
      err += (ours[i] - theirs[i]) ** 2;
      ref += theirs[i] ** 2;
    }
    const rel = Math.sqrt(err / Math.max(ref, 1e-30));
    if (rel > worst.rel) worst = { name: p.name, rel };
    count++;
  }
  for (const t of tensors.values()) t.dispose();
  model.dispose();
  fs.rmSync(dir, { recursive: true });
  return {
    config: label,
    loss: { moontrain: loss, torch: printed.loss, rel: Math.abs(loss - printed.loss) / Math.abs(printed.loss) },
    auxLoss: { moontrain: aux, torch: printed.aux_loss },
    worstGradient: worst,
    gradients: count,
    torchSeconds: printed.seconds,
  };
}

function take(tensors: Map<string, { toFloat32Array(): Float32Array }>, name: string): Float32Array {
  const t = tensors.get(name);
  if (!t) throw new Error(`torch twin: no gradient for ${name}`);
  return t.toFloat32Array();
}

export const twinConfigs: [string, nn.MoonlightConfig][] = [
  ['micro (full-rank Q, interleaved RoPE, seq aux)', {
    ...nn.tiny, hidden_size: 32, num_hidden_layers: 3, num_attention_heads: 4, kv_lora_rank: 16, qk_nope_head_dim: 8,
    qk_rope_head_dim: 8, v_head_dim: 8, intermediate_size: 64, moe_intermediate_size: 16, n_routed_experts: 8,
    num_experts_per_tok: 3, n_shared_experts: 2, first_k_dense_replace: 1, vocab_size: 97, aux_loss_alpha: 0.01, seq_aux: true,
    routed_scaling_factor: 2.446,
  }],
  ['micro (low-rank Q, rotate-half RoPE, tied, groups)', {
    ...nn.tiny, hidden_size: 24, num_hidden_layers: 2, num_attention_heads: 3, q_lora_rank: 12, kv_lora_rank: 8,
    qk_nope_head_dim: 4, qk_rope_head_dim: 6, v_head_dim: 5, intermediate_size: 40, moe_intermediate_size: 12,
    n_routed_experts: 8, num_experts_per_tok: 2, n_group: 4, topk_group: 2, n_shared_experts: 1, first_k_dense_replace: 1,
    vocab_size: 61, rope_interleave: false, tie_word_embeddings: true, aux_loss_alpha: 0, seq_aux: false, norm_topk_prob: false,
  }],
];

if (require.main === module) {
  const why = torchAvailable();
  if (why) {
    console.error(why);
    process.exit(1);
  }
  const reports = twinConfigs.map(([label, c]) => compareWithTorch(label, c, 2, 24, 7));
  console.log(JSON.stringify(reports, null, 2));
  const i = process.argv.indexOf('--json');
  if (i > 0) fs.writeFileSync(process.argv[i + 1], JSON.stringify({ date: new Date().toISOString(), torch: execFileSync(PYTHON, ['-c', 'import torch; print(torch.__version__)']).toString().trim(), reports }, null, 2));
}
