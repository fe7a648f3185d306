// The training loop: bit-identical resume, the NaN stop, flat memory.
import test from 'ava';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { nn, optim } from '../../lib';
import { TokenBatcher } from '../../lib/data';
import { loadOptimizerState, readTrainerState } from '../../lib/train/checkpoint';
import { Trainer } from '../../lib/train/trainer';

const micro: nn.MoonlightConfig = {
  ...nn.tiny, hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 2, kv_lora_rank: 8, qk_nope_head_dim: 8,
  qk_rope_head_dim: 4, v_head_dim: 8, intermediate_size: 48, moe_intermediate_size: 16, n_routed_experts: 4,
  num_experts_per_tok: 2, n_shared_experts: 1, first_k_dense_replace: 1, vocab_size: 50,
};
const tokens = Int32Array.from({ length: 5000 }, (_, i) => (i * 7 + (i >> 3)) % 50);

function makeTrainer(out: string, kind: 'muon' | 'adamw', precision: 'f32' | 'bf16', steps: number, resume = false) {
  const model = resume ? nn.MoonlightModel.load(path.join(out, 'checkpoint'), { precision }) : new nn.MoonlightModel(micro, { precision, seed: 2 });
  const opt = kind === 'muon' ? new optim.Muon(model.parameters(), { lr: 0.01 }) : new optim.AdamW(model.parameters(), { lr: 0.003 });
  const state = resume ? readTrainerState(out) : { step: 0, tokens: 0 };
  if (resume) loadOptimizerState(out, opt);
  const batcher = new TokenBatcher(tokens, { batchSize: 4, seqLen: 16, seed: 9 });
  const trainer = new Trainer({
    model, optimizer: opt, batchSize: 4, seqLen: 16, steps, seed: 9, out, clip: 1,
    batch: (s) => batcher.batch(s), lr: (s) => optim.cosineLr(s, { lr: 0.01, warmup: 2, total: 8 }),
    startStep: state.step, startTokens: state.tokens, checkpointEvery: 3,
  });
  return { model, opt, trainer };
}

for (const [kind, precision] of [['muon', 'bf16'], ['adamw', 'f32'], ['muon', 'f32']] as const) {
  test(`resume continues bit-identically (${kind}, ${precision})`, async (t) => {
    const a = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-run-a-')), b = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-run-b-'));
    const full = makeTrainer(a, kind, precision, 8);
    await full.trainer.run();
    const first = makeTrainer(b, kind, precision, 4);
    await first.trainer.run();
    first.model.dispose();
    const second = makeTrainer(b, kind, precision, 8, true);
    t.is(second.trainer.step, 4);
    await second.trainer.run();
    const la = full.trainer.metrics!.rows.map((r) => r.loss), lb = second.trainer.metrics!.rows.map((r) => r.loss);
    t.deepEqual(lb, la, 'the same losses at every step');
    for (const [[n, p], [, q]] of full.model.namedParameters().map((x, i) => [x, second.model.namedParameters()[i]] as const))
      t.deepEqual(p.value.toFloat32Array(), q.value.toFloat32Array(), n);
    const lines = fs.readFileSync(path.join(b, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    t.deepEqual(lines.map((r) => r.step), [0, 1, 2, 3, 4, 5, 6, 7]);
    for (const k of ['step', 'loss', 'lr', 'tokens', 'tokens_per_s']) t.true(k in lines[0], k);
    t.true(fs.existsSync(path.join(b, 'loss.svg')));
    full.model.dispose();
    second.model.dispose();
  });
}

test('a non-finite loss stops the run and keeps the last good checkpoint', async (t) => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-nan-'));
  const { model, trainer } = makeTrainer(out, 'muon', 'f32', 10);
  await trainer.run().catch(() => undefined);
  const before = fs.readFileSync(path.join(out, 'checkpoint', 'model.safetensors'));
  const { trainer: again, model: m2 } = makeTrainer(out, 'muon', 'f32', 20, true);
  const p = m2.parameters().find((x) => x.kind === 'norm')!;
  const bad = p.value.toFloat32Array().fill(NaN);
  p.set(require('../../lib').tensor(bad, p.value.shape));
  const e = await t.throwsAsync(() => again.run());
  t.regex(e!.message, /loss is NaN .*; the last checkpoint was kept \(.*checkpoint-10\)$/);
  t.is((e as Error & { code: string }).code, 'ERR_MOONTRAIN_NONFINITE_LOSS');
  t.deepEqual(fs.readFileSync(path.join(out, 'checkpoint', 'model.safetensors')), before);
  model.dispose();
  m2.dispose();
});

test('a non-finite loss before any checkpoint says that none was written', async (t) => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-nan0-'));
  const { model, trainer } = makeTrainer(out, 'muon', 'f32', 5);
  const p = model.parameters().find((x) => x.kind === 'norm')!;
  p.set(require('../../lib').tensor(p.value.toFloat32Array().fill(NaN), p.value.shape));
  const e = await t.throwsAsync(() => trainer.run());
  t.regex(e!.message, /training stopped at step 0: the loss is NaN .*; no checkpoint had been written yet$/);
  t.notRegex(e!.message, /was kept/);
  model.dispose();
});

