// Trains a micro model for 600 steps in its own process (so other tests do not share its
// memory) and prints the resident-set growth over steps 200-400 and 400-600 (after warm-up:
// measured, RSS still rises ~6 MiB between steps 50 and 100 as V8 and the caches settle, then
// stays flat but for one-off steps of a few MiB when the allocator takes a new arena) and the live
// native tensors.
import { debug, nn, optim } from '../../lib';
import { TokenBatcher } from '../../lib/data';
import { Trainer } from '../../lib/train/trainer';

const micro: nn.MoonlightConfig = {
  ...nn.tiny, hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 2, kv_lora_rank: 8, qk_nope_head_dim: 8,
  qk_rope_head_dim: 4, v_head_dim: 8, intermediate_size: 48, moe_intermediate_size: 16, n_routed_experts: 4,
  num_experts_per_tok: 2, n_shared_experts: 1, first_k_dense_replace: 1, vocab_size: 50,
};
const tokens = Int32Array.from({ length: 5000 }, (_, i) => (i * 7 + (i >> 3)) % 50);
const model = new nn.MoonlightModel(micro, { precision: 'bf16', seed: 2 });
const opt = new optim.Muon(model.parameters(), { lr: 0.01 });
const batcher = new TokenBatcher(tokens, { batchSize: 4, seqLen: 16, seed: 9 });
const trainer = new Trainer({ model, optimizer: opt, batchSize: 4, seqLen: 16, steps: 600, seed: 9, clip: 1, batch: (s) => batcher.batch(s), lr: () => 0.01 });
const gc = (globalThis as { gc?: () => void }).gc!;
(async () => {
  const rss: number[] = [];
  let live200 = 0;
  for (let s = 1; s <= 600; ++s) {
    trainer.trainStep();
    // As Trainer.run does: Node runs the finalizers of collected JS wrappers between turns.
    await new Promise((resolve) => setImmediate(resolve));
    if (s % 200 === 0) {
      gc();
      rss.push(process.memoryUsage().rss);
      if (s === 200) live200 = debug.liveTensors().count;
    }
  }
  const growthMiB = [(rss[1] - rss[0]) / 2 ** 20, (rss[2] - rss[1]) / 2 ** 20];
  console.log(JSON.stringify({ growthMiB, live200, live600: debug.liveTensors().count }));
})();
