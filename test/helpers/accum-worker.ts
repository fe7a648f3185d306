// Rank RANK of WORLD_SIZE training a micro model with ZeRO-1 for 2 steps of argv[3] micro-batches;
// rank 0 writes the collectives' bytes of each step (comm.bytes() after it) to argv[2] as JSON.
import * as fs from 'fs';
import { nn, optim } from '../../lib';
import { TokenBatcher } from '../../lib/data';
import { init } from '../../lib/parallel/comm';
import { ZeroOptimizer } from '../../lib/parallel/zero';
import { Trainer } from '../../lib/train/trainer';

const [out, accum] = process.argv.slice(2);
const N = Number(accum);
const comm = init();
const config: nn.MoonlightConfig = {
  ...nn.tiny, hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 2, kv_lora_rank: 8, qk_nope_head_dim: 8,
  qk_rope_head_dim: 4, v_head_dim: 8, intermediate_size: 48, moe_intermediate_size: 16, n_routed_experts: 4,
  num_experts_per_tok: 2, n_shared_experts: 1, first_k_dense_replace: 1, vocab_size: 50,
};
const model = new nn.MoonlightModel(config, { precision: 'f32', seed: 3 });
const opt = new ZeroOptimizer(new optim.Muon([], { lr: 0.02 }), comm, model.parameters(), { clip: 1 });
const tokens = Int32Array.from({ length: 3000 }, (_, i) => (i * 7 + (i >> 3)) % 50);
const W = comm.size, rows = 8;
const batcher = new TokenBatcher(tokens, { batchSize: rows, seqLen: 16, seed: 5 });
const trainer = new Trainer({
  model, optimizer: opt, comm, batchSize: rows / N / W, seqLen: 16, steps: 2, seed: 5, gradAccum: N,
  batch: (s, m) => batcher.batch(s, comm.rank * N + m, W * N), lr: () => 0.02,
});
const steps: { bytes: ReturnType<typeof comm.bytes>; loss: number }[] = [];
for (let s = 0; s < 2; ++s) {
  comm.resetBytes();
  const row = trainer.trainStep();
  steps.push({ bytes: comm.bytes(), loss: row.loss });
}
if (comm.rank === 0) fs.writeFileSync(out, JSON.stringify(steps));
opt.dispose();
model.dispose();
comm.close();
