// What transformers reads from a moontrain checkpoint: a config.json with every field of its
// DeepseekV3Config, generation_config.json, and both expert layouts (per expert, and v5's fused
// gate_up_proj / down_proj); foreign config fields moontrain cannot honour are refused.
import test from 'ava';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { io, nn } from '../../lib';
import { microConfig } from '../helpers/micro-run';
import { mulberry32 } from '../helpers/ref';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-hf-'));
test.after.always(() => fs.rmSync(dir, { recursive: true, force: true }));
const readJson = (f: string) => JSON.parse(fs.readFileSync(f, 'utf8'));

/** Every argument of transformers' DeepseekV3Config.__init__ (configuration_deepseek_v3.py), plus what from_pretrained needs. */
const transformersFields = [
  'vocab_size', 'hidden_size', 'intermediate_size', 'moe_intermediate_size', 'num_hidden_layers', 'num_attention_heads',
  'num_key_value_heads', 'n_shared_experts', 'n_routed_experts', 'routed_scaling_factor', 'kv_lora_rank', 'q_lora_rank',
  'qk_rope_head_dim', 'v_head_dim', 'qk_nope_head_dim', 'n_group', 'topk_group', 'num_experts_per_tok',
  'first_k_dense_replace', 'norm_topk_prob', 'hidden_act', 'max_position_embeddings', 'initializer_range', 'rms_norm_eps',
  'use_cache', 'pad_token_id', 'bos_token_id', 'eos_token_id', 'pretraining_tp', 'tie_word_embeddings', 'rope_theta',
  'rope_scaling', 'rope_interleave', 'attention_bias', 'attention_dropout', 'model_type', 'architectures', 'torch_dtype',
];

function batch(seed: number, n: number, V: number): Int32Array {
  const rng = mulberry32(seed);
  return Int32Array.from({ length: n }, () => Math.floor(rng() * V));
}

test('config.json carries every field transformers reads, with values that mean the same model', (t) => {
  for (const precision of ['f32', 'bf16'] as const) {
    const model = new nn.MoonlightModel(microConfig, { precision, seed: 2, initStd: 0.05 });
    const out = path.join(dir, `config-${precision}`);
    model.save(out, { tokens: { bosTokenId: 298, eosTokenId: 299 } });
    const c = readJson(path.join(out, 'config.json'));
    for (const f of transformersFields) t.true(f in c, `config.json lacks ${f}`);
    t.is(c.num_key_value_heads, microConfig.num_attention_heads, 'one key/value group per head (MLA)');
    t.is(c.torch_dtype, precision === 'f32' ? 'float32' : 'bfloat16');
    t.is(c.initializer_range, 0.05);
    t.deepEqual([c.bos_token_id, c.eos_token_id, c.pad_token_id], [298, 299, null]);
    t.deepEqual([c.hidden_act, c.attention_bias, c.rope_scaling, c.model_type], ['silu', false, null, 'deepseek_v3']);
    t.deepEqual(readJson(path.join(out, 'generation_config.json')), { bos_token_id: 298, eos_token_id: 299, pad_token_id: null, do_sample: true });
    // The written config is read back as the same model config.
    const again = nn.parseConfig(path.join(out, 'config.json'));
    for (const [k, v] of Object.entries(microConfig)) t.deepEqual((again as unknown as Record<string, unknown>)[k], v, k);
    // A loaded model saved again keeps the folder's token ids.
    const loaded = nn.MoonlightModel.load(out, { precision });
    loaded.save(`${out}-again`);
    t.deepEqual(readJson(path.join(`${out}-again`, 'generation_config.json')), readJson(path.join(out, 'generation_config.json')));
    t.deepEqual([readJson(path.join(`${out}-again`, 'config.json')).bos_token_id, readJson(path.join(`${out}-again`, 'config.json')).eos_token_id], [298, 299]);
    loaded.dispose();
    model.dispose();
  }
});

test("transformers v5's rope_parameters are read; fields moontrain cannot compute are refused by name", (t) => {
  const v5 = { ...microConfig, rope_theta: undefined, rope_parameters: { rope_type: 'default', rope_theta: 12345 }, num_key_value_heads: 2 };
  t.is(nn.parseConfig(JSON.parse(JSON.stringify(v5))).rope_theta, 12345);
  const refused: [Record<string, unknown>, RegExp][] = [
    [{ rope_scaling: { type: 'yarn', factor: 4 } }, /field 'rope_parameters.rope_type' in config: expected 'default' \(no RoPE scaling\), got "yarn"/],
    [{ num_key_value_heads: 1 }, /field 'num_key_value_heads' in config: expected num_attention_heads \(2\), got 1/],
    [{ hidden_act: 'gelu' }, /field 'hidden_act' in config: expected 'silu', got "gelu"/],
    [{ attention_bias: true }, /field 'attention_bias'/],
    [{ model_type: 'llama' }, /field 'model_type' in config: expected 'deepseek_v3', got "llama"/],
  ];
  for (const [extra, message] of refused) t.throws(() => nn.parseConfig({ ...microConfig, ...extra }), { message, code: 'ERR_MOONTRAIN_BAD_CONFIG' });
});

test("experts saved fused ([E, 2I, D] gate rows then up rows; [E, D, I]) load back to the same model, and per-expert too", (t) => {
  const model = new nn.MoonlightModel(microConfig, { precision: 'f32', seed: 7, initStd: 0.2 });
  const ids = batch(1, 12, microConfig.vocab_size), targets = batch(2, 12, microConfig.vocab_size);
  const loss = model.loss(ids, targets, [2, 6], { backward: false });
  const E = microConfig.n_routed_experts, I = microConfig.moe_intermediate_size, D = microConfig.hidden_size;
  const byName = new Map(model.namedParameters());
  for (const format of ['fused', 'per-expert'] as const) {
    const out = path.join(dir, format);
    model.save(out, { format });
    const entries = io.readSafetensorsHeader(path.join(out, 'model.safetensors')).entries;
    const names = entries.map((e) => e.name);
    const shape = (name: string) => entries.find((e) => e.name === name)?.shape;
    if (format === 'fused') {
      t.deepEqual(shape('model.layers.1.mlp.experts.gate_up_proj'), [E, 2 * I, D]);
      t.deepEqual(shape('model.layers.1.mlp.experts.down_proj'), [E, D, I]);
      t.false(names.some((n) => /experts\.\d+\./.test(n)));
      const { tensors } = io.loadSafetensors(path.join(out, 'model.safetensors'));
      const gateUp = tensors.get('model.layers.1.mlp.experts.gate_up_proj')!.toFloat32Array();
      const gate = byName.get('model.layers.1.mlp.experts.gate_proj.weight')!.value.toFloat32Array();
      const up = byName.get('model.layers.1.mlp.experts.up_proj.weight')!.value.toFloat32Array();
      // Expert 3, row 5, column 9: gate in the first I rows, up in the next I.
      t.is(gateUp[(3 * 2 * I + 5) * D + 9], gate[(3 * I + 5) * D + 9]);
      t.is(gateUp[(3 * 2 * I + I + 5) * D + 9], up[(3 * I + 5) * D + 9]);
      for (const x of tensors.values()) x.dispose();
    } else {
      t.deepEqual(shape('model.layers.1.mlp.experts.3.up_proj.weight'), [I, D]);
      t.false(names.some((n) => n.endsWith('gate_up_proj')));
    }
    const back = nn.MoonlightModel.load(out, { precision: 'f32' });
    for (const [name, p] of back.namedParameters()) t.deepEqual(p.value.toFloat32Array(), byName.get(name)!.value.toFloat32Array(), `${format}: ${name}`);
    t.is(back.loss(ids, targets, [2, 6], { backward: false }), loss);
    back.dispose();
  }
  t.throws(() => model.save(path.join(dir, 'x'), { format: 'packed' as never }), { message: /option 'format': expected 'per-expert' or 'fused', got "packed"/ });
  model.dispose();
});
