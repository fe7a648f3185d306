// ZeRO-1 with Distributed Muon on 2 rank processes of this host.
// Run: node examples/zero.mjs   (it launches itself as 2 ranks, like torchrun would)
import { fileURLToPath } from 'node:url';
import { data, nn, optim, parallel } from 'moontrain';

if (process.env.WORLD_SIZE === undefined) {
  process.exitCode = await parallel.launch({ nproc: 2, argv: [fileURLToPath(import.meta.url)] });
} else {
  const comm = parallel.init();                             // rank and size from the launcher's environment
  const model = nn.MoonlightModel.fromPreset('tiny', { precision: 'bf16', seed: 1 });  // same weights on every rank
  const opt = new parallel.ZeroOptimizer(new optim.Muon([], { lr: 3e-3 }), comm, model.parameters(), { clip: 1 });
  const vocab = model.config.vocab_size;
  const tokens = Int32Array.from({ length: 100_000 }, (_, i) => (i * 7919 + (i >> 3)) % vocab);  // any token stream
  const batches = new data.TokenBatcher(tokens, { batchSize: 8, seqLen: 64, seed: 1 });
  for (let step = 0; step < 5; ++step) {
    const { ids, targets } = batches.batch(step, comm.rank, comm.size);  // this rank's rows of the global batch
    const local = model.loss(ids, targets, [8 / comm.size, 64]);
    model.backward();
    opt.step();                                         // reduce-scatter, clip, Muon on whole matrices, all-gather
    model.zeroGrad();
    const [sum] = comm.allReduceNumbers(Float64Array.of(local), 'sum');
    if (comm.rank === 0) console.log(`step ${step}: loss ${(sum / comm.size).toFixed(4)} (mean over ${comm.size} ranks)`);
  }
  opt.dispose();
  model.dispose();
  comm.close();
}
