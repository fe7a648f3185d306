// The whole model: gradients against finite differences, a few training steps, checkpoints.
import test from 'ava';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { io, nn, optim, tensor } from '../../lib';
import { mulberry32 } from '../helpers/ref';
import { numel } from '../../lib/shape';

const micro = {
  ...nn.tiny,
  hidden_size: 16,
  num_hidden_layers: 2,
  num_attention_heads: 2,
  kv_lora_rank: 8,
  qk_nope_head_dim: 4,
  qk_rope_head_dim: 4,
  v_head_dim: 6,
  intermediate_size: 24,
  moe_intermediate_size: 8,
  n_routed_experts: 4,
  num_experts_per_tok: 2,
  n_shared_experts: 1,
  first_k_dense_replace: 1,
  vocab_size: 37,
  aux_loss_alpha: 0.01,
  seq_aux: true,
  routed_scaling_factor: 1.5,
};

function batch(seed: number, B: number, S: number, V: number) {
  const rng = mulberry32(seed);
  const ids = Int32Array.from({ length: B * S }, () => Math.floor(rng() * V));
  const targets = Int32Array.from({ length: B * S }, () => Math.floor(rng() * V));
  return { ids, targets };
}

test('every parameter gradient matches a central finite difference of the loss (f32, directional)', (t) => {
  for (const cfg of [micro, { ...micro, q_lora_rank: 6, rope_interleave: false, tie_word_embeddings: true }]) {
    const model = new nn.MoonlightModel(cfg, { precision: 'f32', seed: 3, initStd: 0.3 });
    const { ids, targets } = batch(4, 2, 5, cfg.vocab_size);
    const total = () => {
      const l = model.loss(ids, targets, [2, 5]);
      return l + model.lastStats.auxLoss;
    };
    total();
    model.backward();
    const rng = mulberry32(9);
    for (const [name, p] of model.namedParameters()) {
      if (!p.requiresGrad) continue;
      t.truthy(p.grad, `${name} has a gradient`);
      const w = p.value.toFloat32Array();
      const v = Float32Array.from(w, () => rng() * 2 - 1);
      const g = p.grad!.toFloat32Array();
      const analytic = g.reduce((a, gi, i) => a + gi * v[i], 0);
      // Routing is piecewise constant in the weights: a difference straddling a change of
      // expert choice is meaningless, so h shrinks until both sides route like the base point.
      const signature = () => model.moeLayers().map((m) => m.stats.load.join(',')).join('|');
      const base = signature();
      let h = 3e-3, numeric = NaN;
      for (let attempt = 0; attempt < 6; ++attempt, h /= 2) {
        const at = (s: number) => {
          p.set(tensor(w.map((wi, i) => wi + s * h * v[i]), p.value.shape));
          return { loss: total(), routes: signature() };
        };
        const plus = at(1), minus = at(-1);
        p.set(tensor(w, p.value.shape));
        numeric = (plus.loss - minus.loss) / (2 * h);
        if (plus.routes === base && minus.routes === base) break;
      }
      const err = Math.abs(numeric - analytic) / Math.max(1e-3, Math.abs(analytic));
      // fp32 loss rounding (~4e-7) over 2h (~6e-3) is ~1e-4 absolute, plus O(h²) curvature:
      // 1e-2 relative is the honest bound for a single-precision model.
      t.true(err < 1e-2, `${name}: analytic ${analytic.toExponential(4)} numeric ${numeric.toExponential(4)} rel ${err.toExponential(2)}`);
    }
    model.zeroGrad();
    model.dispose();
  }
});

test('a tiny bf16 model learns a repeated batch with Muon', (t) => {
  const model = new nn.MoonlightModel(micro, { precision: 'bf16', seed: 1 });
  const opt = new optim.Muon(model.parameters(), { lr: 0.02, weightDecay: 0.01 });
  const { ids } = batch(7, 4, 8, micro.vocab_size);
  const targets = Int32Array.from(ids, (x) => (x * 7 + 3) % micro.vocab_size);
  const losses: number[] = [];
  for (let s = 0; s < 30; ++s) {
    losses.push(model.loss(ids, targets, [4, 8]));
    model.backward();
    opt.step();
    opt.zeroGrad();
    model.updateRouterBias(1e-3);
  }
  t.true(losses[29] < losses[0] * 0.6, `loss ${losses[0]} -> ${losses[29]}`);
  t.true(losses.every(Number.isFinite));
  const routes = opt.routing();
  t.true(routes.some((r) => r.name === 'model.embed_tokens.weight' && r.optimizer === 'adamw'));
  t.true(routes.some((r) => r.name === 'lm_head.weight' && r.optimizer === 'adamw'));
  t.true(routes.some((r) => r.name === 'model.layers.1.mlp.experts.gate_proj.weight' && r.optimizer === 'muon'));
  t.false(routes.some((r) => r.name.endsWith('e_score_correction_bias')));
  opt.dispose();
  model.dispose();
});

test('save and load round-trip (one file and a Hugging Face sharded directory), same loss', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'moontrain-model-'));
  const model = new nn.MoonlightModel(micro, { precision: 'f32', seed: 5 });
  const { ids, targets } = batch(1, 2, 6, micro.vocab_size);
  const want = model.loss(ids, targets, [2, 6]);
  model.save(dir);
  const loaded = nn.MoonlightModel.load(dir, { precision: 'f32' });
  t.is(loaded.loss(ids, targets, [2, 6]), want);
  const names = io.readSafetensorsHeader(path.join(dir, 'model.safetensors')).entries.map((e) => e.name);
  t.true(names.includes('model.layers.1.mlp.experts.3.down_proj.weight'));
  t.true(names.includes('model.layers.1.self_attn.kv_a_proj_with_mqa.weight'));
  t.true(names.includes('model.layers.1.mlp.gate.e_score_correction_bias'));
  // Re-shard into two files with an index, as Hugging Face does.
  const { tensors } = io.loadSafetensors(path.join(dir, 'model.safetensors'));
  const shardDir = path.join(dir, 'sharded');
  fs.mkdirSync(shardDir);
  const all = [...tensors.keys()];
  const half = Math.ceil(all.length / 2);
  const weightMap: Record<string, string> = {};
  [all.slice(0, half), all.slice(half)].forEach((part, i) => {
    const file = `model-0000${i + 1}-of-00002.safetensors`;
    io.saveSafetensors(path.join(shardDir, file), new Map(part.map((n) => [n, tensors.get(n)!])));
    for (const n of part) weightMap[n] = file;
  });
  fs.writeFileSync(path.join(shardDir, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));
  fs.copyFileSync(path.join(dir, 'config.json'), path.join(shardDir, 'config.json'));
  const resharded = nn.MoonlightModel.load(shardDir, { precision: 'f32' });
  t.is(resharded.loss(ids, targets, [2, 6]), want);
  for (const m of [model, loaded, resharded]) m.dispose();
  for (const x of tensors.values()) x.dispose();
  fs.rmSync(dir, { recursive: true });
});

test('parameter counts: analytic, and equal to the allocated model', (t) => {
  const c = nn.countParameters(nn.moonlight16bA3b);
  t.is(c.total, 15_289_021_568);
  t.is(c.activated, 2_243_687_552);
  t.is(c.embedding, 335_544_320);
  t.is(c.lmHead, 335_544_320);
  const model = new nn.MoonlightModel(micro, { precision: 'f32' });
  const allocated = model.parameters()
    .filter((p) => p.kind !== 'embedding' && p.kind !== 'head')
    .reduce((a, p) => a + numel(p.value.shape), 0);
  t.is(allocated, nn.countParameters(micro).total);
  model.dispose();
});

test('Moonlight config.json field names load unchanged; bad configs are named', (t) => {
  const hf = { ...nn.moonlight16bA3b, model_type: 'deepseek_v3', num_key_value_heads: 16, hidden_act: 'silu', moe_layer_freq: 1 };
  t.is(nn.parseConfig(hf).n_routed_experts, 64);
  t.throws(() => nn.parseConfig({ ...hf, num_experts_per_tok: 65 }), { message: /num_experts_per_tok/ });
  t.throws(() => nn.parseConfig({ ...hf, hidden_size: 0 }), { message: /hidden_size/ });
  t.throws(() => nn.parseConfig({ ...hf, scoring_func: 'softmax' }), { message: /scoring_func/ });
});

test('loss(..., { backward: false }) gives the same loss and refuses a backward()', (t) => {
  const model = new nn.MoonlightModel(micro, { precision: 'f32', seed: 3 });
  const { ids, targets } = batch(11, 2, 8, micro.vocab_size);
  const trained = model.loss(ids, targets, [2, 8]);
  model.backward();
  const evaluated = model.loss(ids, targets, [2, 8], { backward: false });
  t.is(evaluated, trained);
  t.throws(() => model.backward(), { message: /backward: false/ });
  model.dispose();
});
