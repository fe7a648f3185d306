// One rank of `moontrain bench step --nproc N`: ZeRO-1 steps of a preset; rank 0 prints one JSON
// line with the bytes each collective moved per step, the optimizer's share of the step time
// and the optimizer state held per rank.
import { init } from '../lib/dist/comm';
import { ZeroOptimizer } from '../lib/dist/zero';
import { MoonlightModel } from '../lib/nn/model';
import { AdamW } from '../lib/optim/adamw';
import { Muon } from '../lib/optim/muon';
import { median } from './harness';

const [preset, kind, batchArg, seqArg, stepsArg] = process.argv.slice(2);
const comm = init();
const model = MoonlightModel.fromPreset(preset as 'tiny', { precision: 'bf16', seed: 1 });
const inner = kind === 'adamw' ? new AdamW([], { lr: 1e-3 }) : new Muon([], { lr: 1e-3 });
const opt = new ZeroOptimizer(inner, comm, model.parameters(), { clip: 1 });
const B = Number(batchArg) / comm.size, S = Number(seqArg), steps = Number(stepsArg);
const V = model.config.vocab_size;
const ids = Int32Array.from({ length: B * S }, (_, i) => (i * 7919 + comm.rank * 131) % V);
const targets = Int32Array.from(ids, (x, i) => (x + i) % V);
const total: number[] = [], optimizer: number[] = [];
let bytes = { allGather: 0, reduceScatter: 0, allReduce: 0 };
for (let s = 0; s < steps + 1; ++s) {
  if (s === 1) comm.resetBytes();
  const t0 = process.hrtime.bigint();
  model.loss(ids, targets, [B, S]);
  model.backward();
  const t1 = process.hrtime.bigint();
  opt.step();
  opt.zeroGrad();
  const t2 = process.hrtime.bigint();
  if (s > 0) {
    total.push(Number(t2 - t0) / 1e6);
    optimizer.push(Number(t2 - t1) / 1e6);
  }
}
const b = comm.bytes();
bytes = { allGather: b.allGather / steps, reduceScatter: b.reduceScatter / steps, allReduce: b.allReduce / steps };
const stateBytes = comm.allReduceNumbers(Float64Array.of(opt.stateBytes()), 'max')[0];
if (comm.rank === 0) {
  const params = opt.parameterCount();
  console.log(JSON.stringify({
    preset, optimizer: kind, nproc: comm.size, params, stepMs: median(total), optimizerMs: median(optimizer),
    optimizerShare: median(optimizer) / median(total), bytesPerStep: bytes,
    bytesPerParam: (bytes.allGather + bytes.reduceScatter) / params, optimizerStateBytesPerRank: stateBytes,
  }));
}
comm.close();
