// One rank of `moontrain bench step --nproc N`: ZeRO-1 steps of a config; rank 0 prints one JSON
// line with the bytes each collective moved per step, the optimizer's share of the step time
// and the optimizer state held per rank.
import { init } from '../lib/parallel/comm';
import { ZeroOptimizer } from '../lib/parallel/zero';
import { resolveConfig } from '../lib/cli/info';
import { MoonlightModel } from '../lib/nn/model';
import { AdamW } from '../lib/optim/adamw';
import { Muon } from '../lib/optim/muon';
import { median } from './harness';
import { syntheticBatch, timeSteps } from './step';

const [config, kind, precision, batchArg, seqArg, stepsArg] = process.argv.slice(2);
const comm = init();
const model = new MoonlightModel(resolveConfig(config), { precision: precision as 'bf16' | 'f32', seed: 1 });
const inner = kind === 'adamw' ? new AdamW([], { lr: 1e-3 }) : new Muon([], { lr: 1e-3 });
const opt = new ZeroOptimizer(inner, comm, model.parameters(), { clip: 1 });
const B = Number(batchArg) / comm.size, S = Number(seqArg), steps = Number(stepsArg);
const { ids, targets } = syntheticBatch(model.config.vocab_size, B * S, comm.rank * 131);
const t = timeSteps(model, opt, ids, targets, B, S, steps, () => comm.resetBytes());
const total = t.forwardBackward.map((x, i) => x + t.optimizer[i]), optimizer = t.optimizer;
const b = comm.bytes();
const bytes = { allGather: b.allGather / steps, reduceScatter: b.reduceScatter / steps, allReduce: b.allReduce / steps };
const stateBytes = comm.allReduceNumbers(Float64Array.of(opt.stateBytes()), 'max')[0];
if (comm.rank === 0) {
  const params = opt.parameterCount();
  console.log(JSON.stringify({
    config, precision, optimizer: kind, nproc: comm.size, batch: Number(batchArg), seq: S, params, stepMs: median(total),
    tokensPerS: (Number(batchArg) * S * 1000) / median(total), optimizerMs: median(optimizer),
    optimizerShare: median(optimizer) / median(total), bytesPerStep: bytes,
    bytesPerParam: (bytes.allGather + bytes.reduceScatter) / params, optimizerStateBytesPerRank: stateBytes,
  }));
}
comm.close();
