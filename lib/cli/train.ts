// moontrain train: a Moonlight-style MoE on Brown (or your data) with Muon, from the command line.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { prepareDataset, TokenBatcher, evalBatches } from '../data';
import { MoonlightModel } from '../nn/model';
import { AdamW } from '../optim/adamw';
import { Muon } from '../optim/muon';
import { cosineLr, wsdLr } from '../optim/schedule';
import { info } from '../runtime';
import { loadOptimizerState, readTrainerState, checkpointDir } from '../train/checkpoint';
import { Progress } from '../train/progress';
import { Trainer } from '../train/trainer';
import { init } from '../parallel/comm';
import { detectMpiLaunch } from '../parallel/mpi-env';
import { launch } from '../parallel/launch';
import { ZeroOptimizer } from '../parallel/zero';
import { Flags, Parsed, UsageError, parseFlags } from './args';
import { resolveConfig } from './info';

export const trainFlags: Flags = {
  config: { type: 'string', default: 'tiny', help: 'tiny|small|moonlight-16b-a3b or a config.json path' },
  optimizer: { type: 'string', choices: ['muon', 'adamw'], default: 'muon', help: 'optimizer (AdamW: betas 0.9/0.95, eps 1e-8)' },
  steps: { type: 'int', min: 1, default: 2000, help: 'optimizer steps' },
  'batch-size': { type: 'int', min: 1, default: 16, help: 'sequences per step' },
  'seq-len': { type: 'int', min: 2, default: 128, help: 'tokens per sequence' },
  lr: { type: 'number', min: 0, default: 3e-3, help: 'peak learning rate (Muon and its AdamW alike)' },
  'weight-decay': { type: 'number', min: 0, default: 0.1, help: 'decoupled weight decay' },
  warmup: { type: 'int', min: 0, default: 100, help: 'linear warm-up steps' },
  schedule: { type: 'string', choices: ['cosine', 'wsd'], default: 'cosine', help: 'lr schedule after warm-up' },
  precision: { type: 'string', choices: ['bf16', 'f32'], default: 'bf16', help: 'weights and activations' },
  seed: { type: 'int', min: 0, default: 1, help: 'initialisation and batch order' },
  data: { type: 'string', default: 'brown', help: "'brown' or a .txt / llm.c / uint16 token file" },
  'eval-every': { type: 'int', min: 1, default: 200, help: 'validation every N steps' },
  'eval-batches': { type: 'int', min: 1, default: 16, help: 'validation batches per evaluation' },
  'checkpoint-every': { type: 'int', min: 1, default: 500, help: 'checkpoint every N steps (and at the end)' },
  clip: { type: 'number', min: 0, default: 1, help: 'clip the global gradient norm (0: off)' },
  out: { type: 'string', default: 'runs/latest', help: 'run directory' },
  resume: { type: 'string', help: 'continue the run in this directory' },
  'stop-after': { type: 'int', min: 1, help: 'stop (with a checkpoint) after N steps of this invocation; the schedule still follows --steps' },
  'cache-dir': { type: 'string', help: 'tokenizer and token cache (default ~/.cache/moontrain)' },
  nproc: { type: 'int', min: 1, default: 1, help: 'ranks (processes) on this host: ZeRO-1 with Distributed Muon' },
};

export function cacheDir(a: Parsed): string {
  return (a['cache-dir'] as string | undefined) ?? process.env.MOONTRAIN_CACHE ?? path.join(os.homedir(), '.cache', 'moontrain');
}

export async function trainCommand(argv: string[]): Promise<number> {
  let a = parseFlags(argv, trainFlags, 'train');
  const nproc = a.nproc as number;
  const mpi = process.env.WORLD_SIZE === undefined ? detectMpiLaunch(process.env) : null;
  if (mpi && nproc > 1)
    throw new UsageError(`moontrain train: --nproc ${nproc} under ${mpi.launcher === 'slurm' ? 'srun' : 'mpirun'}: the launcher starts the ranks (-n / --ntasks); drop --nproc`);
  if (nproc > 1 && process.env.WORLD_SIZE === undefined) {
    // The launcher: one process per rank, like torchrun; a failing rank stops the job.
    if ((a['batch-size'] as number) % nproc !== 0)
      throw new UsageError(`moontrain train: --batch-size ${a['batch-size']} must divide evenly over --nproc ${nproc}`);
    return launch({ nproc, argv: [...process.execArgv, process.argv[1], 'train', ...argv] });
  }
  const comm = process.env.WORLD_SIZE !== undefined || mpi ? init() : undefined;
  const W = comm?.size ?? 1, rank = comm?.rank ?? 0;
  const resume = a.resume as string | undefined;
  let startStep = 0, startTokens = 0;
  if (resume) {
    // The run's settings come from its checkpoint; flags given now may only extend the steps.
    const state = readTrainerState(resume);
    const given = parseFlags(argv, Object.fromEntries(Object.entries(trainFlags).map(([k, f]) => [k, { ...f, default: undefined }])), 'train');
    a = { ...(state.args as Parsed), steps: (given.steps as number | undefined) ?? (state.args as Parsed).steps, 'stop-after': given['stop-after'], out: resume, resume };
    startStep = state.step;
    startTokens = state.tokens;
  }
  const config = resolveConfig(a.config as string);
  const B = a['batch-size'] as number, S = a['seq-len'] as number, steps = a.steps as number;
  if (B % W !== 0) throw new UsageError(`moontrain train: --batch-size ${B} must divide evenly over ${W} ranks`);
  const out = a.out as string;
  fs.mkdirSync(out, { recursive: true });
  const progress = new Progress(startStep, rank === 0 ? process.stderr : devNull());
  progress.message(`moontrain train: ${a.config} on ${a.data}, ${a.optimizer}, ${a.precision}, ${info().isa} x${info().threads} threads${W > 1 ? ` x ${W} ranks (ZeRO-1)` : ''} -> ${out}`);
  const data = prepareDataset({ data: a.data as string, vocabSize: config.vocab_size, cacheDir: cacheDir(a) });
  if (data.vocabSize > config.vocab_size)
    throw new UsageError(`moontrain train: the data uses token ids up to ${data.vocabSize - 1}, beyond the model's vocab_size ${config.vocab_size}`);
  progress.message(`data: ${data.description}`);
  const model = resume
    ? MoonlightModel.load(checkpointDir(resume), { precision: a.precision as 'bf16' | 'f32' })
    : new MoonlightModel(config, { precision: a.precision as 'bf16' | 'f32', seed: a.seed as number });
  const lr = a.lr as number, wd = a['weight-decay'] as number;
  // With ranks, the inner optimizer only lends its settings: ZeRO keeps 1/N of the state.
  const inner = a.optimizer === 'adamw'
    ? new AdamW(comm ? [] : model.parameters(), { lr, betas: [0.9, 0.95], eps: 1e-8, weightDecay: wd })
    : new Muon(comm ? [] : model.parameters(), { lr, weightDecay: wd, adamw: { betas: [0.9, 0.95], eps: 1e-8 } });
  const optimizer = comm ? new ZeroOptimizer(inner, comm, model.parameters(), { clip: (a.clip as number) || undefined }) : inner;
  if (resume) loadOptimizerState(resume, optimizer);
  const batcher = new TokenBatcher(data.train, { batchSize: B, seqLen: S, seed: a.seed as number });
  const val = evalBatches(data.val, { batchSize: B, seqLen: S });
  const evalLimit = a['eval-batches'] as number;
  const sched = { lr, warmup: a.warmup as number, total: steps };
  const trainer = new Trainer({
    model, optimizer, comm, batchSize: B / W, seqLen: S, steps, seed: a.seed as number, out,
    batch: (s) => batcher.batch(s, rank, W),
    valBatches: () => val.slice(0, evalLimit),
    lr: (s) => (a.schedule === 'wsd' ? wsdLr(s, sched) : cosineLr(s, sched)),
    clip: (a.clip as number) || undefined,
    evalEvery: a['eval-every'] as number,
    checkpointEvery: a['checkpoint-every'] as number,
    startStep, startTokens,
    stopAfter: a['stop-after'] as number | undefined,
    state: { args: { ...a, resume: undefined, 'stop-after': undefined }, data: data.description, words: data.words },
    onStep: (m) => progress.update({ step: m.step, total: steps, loss: m.loss, tokensPerS: m.tokens_per_s, valLoss: m.val_loss }),
  });
  const onSigint = () => {
    progress.message('interrupted: finishing this step and saving a checkpoint (Ctrl-C again to abort)');
    process.off('SIGINT', onSigint);
    trainer.interrupt();
  };
  process.on('SIGINT', onSigint);
  const reason = await trainer.run();
  process.off('SIGINT', onSigint);
  progress.end();
  comm?.close();
  if (rank !== 0) {
    model.dispose();
    return 0;
  }
  const rows = trainer.metrics!.rows;
  const lastVal = [...rows].reverse().find((r) => r.val_loss !== undefined)?.val_loss;
  progress.message(reason === 'interrupted'
    ? `stopped at step ${trainer.step}; checkpoint in ${out}/checkpoint; continue with: moontrain train --resume ${out}`
    : `done: ${trainer.step} steps, ${trainer.tokens.toLocaleString('en-US')} tokens, validation loss ${lastVal?.toFixed(4)} (perplexity ${lastVal !== undefined ? Math.exp(lastVal).toFixed(2) : '?'} per token); ${out}/metrics.jsonl, ${out}/loss.svg, ${out}/checkpoint`);
  optimizer.dispose();
  model.dispose();
  return 0;
}

function devNull(): NodeJS.WriteStream {
  return { write: () => true, isTTY: false } as unknown as NodeJS.WriteStream;
}
