// One rank of `moontrain bench step --nproc N` (and of `bench step` under mpirun / srun): ZeRO-1
// steps of a config. zeroStep() returns on every rank the bytes each collective moved per step,
// the optimizer's share of the step time, the optimizer state held per rank and each rank's step
// time and tokens/s; run as a script (a rank of launch()), rank 0 prints it as one JSON line.
import type { Communicator } from '../lib/parallel/comm';
import { init } from '../lib/parallel/comm';
import { ZeroOptimizer } from '../lib/parallel/zero';
import { resolveConfig } from '../lib/cli/info';
import { MoonlightModel } from '../lib/nn/model';
import { AdamW } from '../lib/optim/adamw';
import { Muon } from '../lib/optim/muon';
import { median } from './harness';
import { syntheticBatch, timeSteps } from './step';

export interface ZeroStepRow {
  config: string;
  precision: string;
  optimizer: string;
  nproc: number;
  batch: number;
  seq: number;
  params: number;
  /** The job's step: the slowest rank's median (the collectives keep the ranks in step). */
  stepMs: number;
  /** The whole batch over the job's step time. */
  tokensPerS: number;
  /** Each rank's median step time and its share of the batch over it. */
  perRank: { stepMs: number; tokensPerS: number }[];
  optimizerMs: number;
  optimizerShare: number;
  bytesPerStep: { allGather: number; reduceScatter: number; allReduce: number };
  bytesPerParam: number;
  optimizerStateBytesPerRank: number;
}

/** `steps` timed ZeRO-1 steps (after one warm-up) of `config` with `kind`, a batch of `batch` sequences split over the ranks. */
export function zeroStep(comm: Communicator, config: string, kind: string, precision: 'bf16' | 'f32', batch: number, seq: number, steps: number): ZeroStepRow {
  const model = new MoonlightModel(resolveConfig(config), { precision, seed: 1 });
  const inner = kind === 'adamw' ? new AdamW([], { lr: 1e-3 }) : new Muon([], { lr: 1e-3 });
  const opt = new ZeroOptimizer(inner, comm, model.parameters(), { clip: 1 });
  const B = batch / comm.size;
  const { ids, targets } = syntheticBatch(model.config.vocab_size, B * seq, comm.rank * 131);
  const t = timeSteps(model, opt, ids, targets, B, seq, steps, () => comm.resetBytes());
  const total = t.forwardBackward.map((x, i) => x + t.optimizer[i]);
  const b = comm.bytes();
  const bytes = { allGather: b.allGather / steps, reduceScatter: b.reduceScatter / steps, allReduce: b.allReduce / steps };
  // Every rank's median step time, in rank order; the slowest rank's optimizer time and state.
  const mine = new Float64Array(comm.size);
  mine[comm.rank] = median(total);
  const perRankMs = Array.from(comm.allReduceNumbers(mine, 'sum'));
  const [stateBytes, optimizerMs] = comm.allReduceNumbers(Float64Array.of(opt.stateBytes(), median(t.optimizer)), 'max');
  const params = opt.parameterCount();
  const stepMs = Math.max(...perRankMs);
  opt.dispose();
  model.dispose();
  return {
    config, precision, optimizer: kind, nproc: comm.size, batch, seq, params, stepMs, tokensPerS: (batch * seq * 1000) / stepMs,
    perRank: perRankMs.map((ms) => ({ stepMs: ms, tokensPerS: (B * seq * 1000) / ms })),
    optimizerMs, optimizerShare: optimizerMs / stepMs, bytesPerStep: bytes,
    bytesPerParam: (bytes.allGather + bytes.reduceScatter) / params, optimizerStateBytesPerRank: stateBytes,
  };
}

if (require.main === module) {
  const [config, kind, precision, batchArg, seqArg, stepsArg] = process.argv.slice(2);
  const comm = init();
  const row = zeroStep(comm, config, kind, precision as 'bf16' | 'f32', Number(batchArg), Number(seqArg), Number(stepsArg));
  if (comm.rank === 0) console.log(JSON.stringify(row));
  comm.close();
}
