// moontrain train: a Moonlight-style MoE on Brown (or your data) with Muon, from the command line.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { prepareDataset, TokenBatcher, evalBatches } from '../data';
import { stridedEvalBatches } from '../data/strided-eval';
import { MoonlightModel } from '../nn/model';
import { AdamW } from '../optim/adamw';
import { Muon } from '../optim/muon';
import { cosineLr, wsdLr } from '../optim/schedule';
import { info } from '../runtime';
import { loadOptimizerState, readTrainerState, checkpointDir } from '../train/checkpoint';
import { Progress } from '../train/progress';
import { Trainer } from '../train/trainer';
import { init } from '../parallel/comm';
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
  'warmup-fraction': { type: 'number', min: 0, help: 'warm-up as a fraction of --steps (instead of --warmup)' },
  schedule: { type: 'string', choices: ['cosine', 'wsd'], default: 'cosine', help: 'lr schedule after warm-up' },
  'decay-fraction': { type: 'number', min: 0, default: 0.2, help: 'wsd: fraction of the steps spent decaying linearly to 0' },
  'adam-betas': { type: 'string', default: '0.9,0.95', help: 'AdamW betas b1,b2 (AdamW, and Muon\'s internal AdamW)' },
  precision: { type: 'string', choices: ['bf16', 'f32'], default: 'bf16', help: 'weights and activations' },
  seed: { type: 'int', min: 0, default: 1, help: 'initialisation and batch order' },
  data: { type: 'string', default: 'brown', help: "'brown' or a .txt / llm.c / uint16 token file" },
  tokenizer: { type: 'string', choices: ['bpe', 'word'], default: 'bpe', help: "'word': words, rare ones (< 4 in train) as <unk>, as Bengio et al. 2003; the model's vocab_size becomes the tokenizer's" },
  'eval-every': { type: 'int', min: 1, default: 200, help: 'validation every N steps' },
  'eval-batches': { type: 'string', default: '16', help: "validation batches per evaluation, or 'all' (the whole split)" },
  'eval-context': { type: 'int', min: 0, help: 'every scored validation token has this much context, at least (overlapping windows; default 64 with --eval-batches all, else 0: disjoint windows)' },
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
  if (nproc > 1 && process.env.WORLD_SIZE === undefined) {
    // The launcher: one process per rank, like torchrun; a failing rank stops the job.
    if ((a['batch-size'] as number) % nproc !== 0)
      throw new UsageError(`moontrain train: --batch-size ${a['batch-size']} must divide evenly over --nproc ${nproc}`);
    return launch({ nproc, argv: [...process.execArgv, process.argv[1], 'train', ...argv] });
  }
  const comm = process.env.WORLD_SIZE !== undefined ? init() : undefined;
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
  let config = resolveConfig(a.config as string);
  const B = a['batch-size'] as number, S = a['seq-len'] as number, steps = a.steps as number;
  if (B % W !== 0) throw new UsageError(`moontrain train: --batch-size ${B} must divide evenly over ${W} ranks`);
  // Settings checked before any work is done.
  const betas = parseBetas(a['adam-betas']);
  const evalPlan = parseEvalPlan(a, S);
  const warmup = warmupSteps(a);
  if ((a['decay-fraction'] as number | undefined ?? 0) > 1) throw new UsageError(`moontrain train: --decay-fraction: expected a number in [0, 1], got ${a['decay-fraction']}`);
  const out = a.out as string;
  fs.mkdirSync(out, { recursive: true });
  const progress = new Progress(startStep, rank === 0 ? process.stderr : devNull());
  progress.message(`moontrain train: ${a.config} on ${a.data}, ${a.optimizer}, ${a.precision}, ${info().isa} x${info().threads} threads${W > 1 ? ` x ${W} ranks (ZeRO-1)` : ''} -> ${out}`);
  const data = prepareDataset({ data: a.data as string, vocabSize: config.vocab_size, cacheDir: cacheDir(a), tokenizer: a.tokenizer as 'bpe' | 'word' | undefined });
  if (a.tokenizer === 'word') config = { ...config, vocab_size: data.vocabSize };
  if (data.vocabSize > config.vocab_size)
    throw new UsageError(`moontrain train: the data uses token ids up to ${data.vocabSize - 1}, beyond the model's vocab_size ${config.vocab_size}`);
  progress.message(`data: ${data.description}`);
  const model = resume
    ? MoonlightModel.load(checkpointDir(resume), { precision: a.precision as 'bf16' | 'f32' })
    : new MoonlightModel(config, { precision: a.precision as 'bf16' | 'f32', seed: a.seed as number });
  const lr = a.lr as number, wd = a['weight-decay'] as number;
  // With ranks, the inner optimizer only lends its settings: ZeRO keeps 1/N of the state.
  const inner = a.optimizer === 'adamw'
    ? new AdamW(comm ? [] : model.parameters(), { lr, betas, eps: 1e-8, weightDecay: wd })
    : new Muon(comm ? [] : model.parameters(), { lr, weightDecay: wd, adamw: { betas, eps: 1e-8 } });
  const optimizer = comm ? new ZeroOptimizer(inner, comm, model.parameters(), { clip: (a.clip as number) || undefined }) : inner;
  if (resume) loadOptimizerState(resume, optimizer);
  const batcher = new TokenBatcher(data.train, { batchSize: B, seqLen: S, seed: a.seed as number });
  const val = evalPlan.context > 0 ? stridedEvalBatches(data.val, { batchSize: B, seqLen: S, minContext: evalPlan.context }) : evalBatches(data.val, { batchSize: B, seqLen: S });
  const evalLimit = evalPlan.batches;
  const sched = { lr, warmup, total: steps, decayFraction: a['decay-fraction'] as number | undefined };
  const trainer = new Trainer({
    model, optimizer, comm, batchSize: B / W, seqLen: S, steps, seed: a.seed as number, out,
    batch: (s) => batcher.batch(s, rank, W),
    valBatches: () => (evalLimit === Infinity ? val : val.slice(0, evalLimit)),
    lr: (s) => (a.schedule === 'wsd' ? wsdLr(s, sched) : cosineLr(s, sched)),
    clip: (a.clip as number) || undefined,
    evalEvery: a['eval-every'] as number,
    checkpointEvery: a['checkpoint-every'] as number,
    startStep, startTokens,
    stopAfter: a['stop-after'] as number | undefined,
    state: { args: { ...a, resume: undefined, 'stop-after': undefined }, data: data.description, words: data.words, ...(data.bytes ? { bytes: data.bytes, valTokensPerByte: data.val.length / data.bytes.val } : {}) },
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

/** '--adam-betas b1,b2' as a pair of numbers in [0, 1). */
export function parseBetas(v: unknown): [number, number] {
  const parts = String(v ?? '0.9,0.95').split(',').map((x) => x.trim());
  const b = parts.map(Number);
  if (parts.length !== 2 || parts.some((x) => x === '') || b.some((x) => !Number.isFinite(x) || x < 0 || x >= 1))
    throw new UsageError(`moontrain train: --adam-betas: expected two numbers in [0, 1) as b1,b2 (e.g. 0.9,0.95), got '${v}'`);
  return [b[0], b[1]];
}

/** Warm-up steps: --warmup-fraction of the steps when given, else --warmup. */
export function warmupSteps(a: Parsed): number {
  const f = a['warmup-fraction'] as number | undefined;
  if (f === undefined) return a.warmup as number;
  if (f > 1) throw new UsageError(`moontrain train: --warmup-fraction: expected a number in [0, 1], got ${f}`);
  return Math.round(f * (a.steps as number));
}

/**
 * The validation batches per evaluation (Infinity for 'all') and the context every scored token
 * has (0: disjoint windows). 'all' defaults to 64 tokens of context, or seqLen / 2 if shorter.
 */
export function parseEvalPlan(a: Parsed, seqLen: number): { batches: number; context: number } {
  const raw = String(a['eval-batches'] ?? '16');
  const batches = raw === 'all' ? Infinity : Number(raw);
  if (raw !== 'all' && !(Number.isInteger(batches) && batches >= 1))
    throw new UsageError(`moontrain train: --eval-batches: expected an integer >= 1 or 'all', got '${raw}'`);
  const given = a['eval-context'] as number | undefined;
  const context = given ?? (raw === 'all' ? Math.min(64, Math.floor(seqLen / 2)) : 0);
  if (context >= seqLen) throw new UsageError(`moontrain train: --eval-context ${context}: expected less than --seq-len ${seqLen}`);
  return { batches, context };
}

function devNull(): NodeJS.WriteStream {
  return { write: () => true, isTTY: false } as unknown as NodeJS.WriteStream;
}
