// Gradient accumulation in the Trainer: N micro-batches per optimizer step give the step of the
// one batch made of them (f32 loss and gradient-norm traces within 1e-6 relative), also when the
// micro-batches hold different numbers of scored tokens (ignored targets); the expert-load
// metrics of a step count every micro-batch's tokens.
import test from 'ava';
import { nn, optim } from '../../lib';
import { TokenBatcher } from '../../lib/data';
import { Trainer } from '../../lib/train/trainer';
import type { StepMetrics } from '../../lib/train/metrics';

const micro: nn.MoonlightConfig = {
  ...nn.tiny, hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 2, kv_lora_rank: 8, qk_nope_head_dim: 8,
  qk_rope_head_dim: 4, v_head_dim: 8, intermediate_size: 48, moe_intermediate_size: 16, n_routed_experts: 4,
  num_experts_per_tok: 2, n_shared_experts: 1, first_k_dense_replace: 1, vocab_size: 50, aux_loss_alpha: 0.01, seq_aux: true,
};
const tokens = Int32Array.from({ length: 5000 }, (_, i) => (i * 7 + (i >> 3) + ((i * i) % 11)) % 50);
const S = 16;

/** Rows [from, to) of step s's batch of `rows` rows; in the first half of the rows, every third target is ignored. */
function rowsOf(batcher: TokenBatcher, s: number, from: number, to: number, ragged: boolean) {
  const b = batcher.batch(s);
  const ids = b.ids.slice(from * S, to * S), targets = b.targets.slice(from * S, to * S);
  if (ragged) for (let i = 0; i < targets.length; ++i) if (from + Math.floor(i / S) < 3 && (i % S) % 3 === 0) targets[i] = -1;
  return { ids, targets };
}

async function trace(kind: 'muon' | 'adamw', N: number, ragged: boolean): Promise<StepMetrics[]> {
  const model = new nn.MoonlightModel(micro, { precision: 'f32', seed: 3 });
  const opt = kind === 'muon' ? new optim.Muon(model.parameters(), { lr: 0.02 }) : new optim.AdamW(model.parameters(), { lr: 0.01 });
  const rows = 8, per = rows / N;
  const batcher = new TokenBatcher(tokens, { batchSize: rows, seqLen: S, seed: 5 });
  const trainer = new Trainer({
    model, optimizer: opt, batchSize: per, seqLen: S, steps: 6, seed: 5, clip: 0.5, gradAccum: N,
    batch: (s, m) => rowsOf(batcher, s, m * per, (m + 1) * per, ragged),
    lr: (s) => optim.cosineLr(s, { lr: kind === 'muon' ? 0.02 : 0.01, warmup: 1, total: 6 }),
  });
  const out: StepMetrics[] = [];
  for (let i = 0; i < 6; ++i) out.push(trainer.trainStep());
  opt.dispose();
  model.dispose();
  return out;
}

const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-30);

for (const kind of ['muon', 'adamw'] as const)
  for (const ragged of [false, true])
    test(`${kind}: 8 rows equal 2 and 4 micro-batches of them${ragged ? ', with ignored targets in some' : ''}`, async (t) => {
      const big = await trace(kind, 1, ragged);
      for (const N of [2, 4]) {
        const acc = await trace(kind, N, ragged);
        acc.forEach((r, s) => {
          t.true(rel(r.loss, big[s]!.loss) < 1e-6, `N=${N} step ${s}: loss ${r.loss} vs ${big[s]!.loss}`);
          t.true(rel(r.grad_norm!, big[s]!.grad_norm!) < 1e-6, `N=${N} step ${s}: grad norm ${r.grad_norm} vs ${big[s]!.grad_norm}`);
          t.true(rel(r.aux_loss!, big[s]!.aux_loss!) < 1e-6, `N=${N} step ${s}: aux loss ${r.aux_loss} vs ${big[s]!.aux_loss}`);
          t.is(r.tokens, big[s]!.tokens, 'every micro-batch counts');
          // The loads of all micro-batches: the same balance figures as the one batch's.
          for (const k of ['moe/layer1/load_max_over_mean', 'moe/layer1/load_cv', 'moe/layer1/experts_idle', 'moe/layer1/router_bias_norm'])
            t.true(rel(r[k]!, big[s]![k]!) < 1e-6, `N=${N} step ${s}: ${k} ${r[k]} vs ${big[s]![k]}`);
        });
      }
    });

test('gradAccum must be an integer >= 1', (t) => {
  const model = new nn.MoonlightModel(micro, { precision: 'f32', seed: 3 });
  const opt = new optim.AdamW(model.parameters(), { lr: 0.01 });
  for (const bad of [0, 1.5, Number.NaN])
    t.throws(() => new Trainer({ model, optimizer: opt, batchSize: 1, seqLen: S, steps: 1, seed: 0, gradAccum: bad, batch: () => ({ ids: new Int32Array(S), targets: new Int32Array(S) }), lr: () => 0 }),
      { message: new RegExp(`option 'gradAccum': expected an integer >= 1, got ${bad}`) });
  opt.dispose();
  model.dispose();
});

test('MFU, step time and peak RSS of each step', (t) => {
  const model = new nn.MoonlightModel(micro, { precision: 'f32', seed: 3 });
  const opt = new optim.AdamW(model.parameters(), { lr: 0.01 });
  const batcher = new TokenBatcher(tokens, { batchSize: 6, seqLen: S, seed: 5 });
  const peakFlops = 3.5e9;
  const trainer = new Trainer({
    model, optimizer: opt, batchSize: 2, seqLen: S, steps: 2, seed: 5, gradAccum: 3, peakFlops,
    batch: (s, m) => batcher.batch(s, m, 3), lr: () => 0.01,
  });
  for (let i = 0; i < 2; ++i) {
    const r = trainer.trainStep();
    t.is(r.tokens, (i + 1) * 6 * S);
    t.true(Math.abs(r.step_time_s! * r.tokens_per_s - 6 * S) < 1e-9 * 6 * S, 'tokens/s over all micro-batches of the step');
    t.is(r.mfu, (nn.flopsPerToken(micro, S) * r.tokens_per_s) / peakFlops);
    t.true(r.peak_rss_mib! > 20 && r.peak_rss_mib! <= process.resourceUsage().maxRSS / 1024);
  }
  opt.dispose();
  model.dispose();
});
