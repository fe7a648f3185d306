// moontrain train: a Moonlight-style MoE on Brown (or your data) with Muon, from the command line.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { BpeTokenizer, loadDataset, TokenBatcher, evalBatches } from '../data';
import { stridedEvalBatches } from '../data/strided-eval';
import { MoonlightModel } from '../nn/model';
import { AdamW } from '../optim/adamw';
import { Muon } from '../optim/muon';
import { cosineLr, wsdLr } from '../optim/schedule';
import { info } from '../runtime';
import { loadOptimizerState, readTrainerState } from '../train/checkpoint';
import { latestCheckpoint } from '../train/checkpoint-layout';
import { checkDataFile, checkFingerprint, dataFingerprint, resolveDataPath, type DataFingerprint } from '../data/fingerprint';
import { hfTokenizerConfigJson, toHfTokenizerJson } from '../data/hf-tokenizer-json';
import { detectDataFormat } from '../data/token-files';
import { openHfFolder, tokenizerNeeded } from './hf-folder';
import { prepareOut } from './run-folder';
import { loadCheckpointModel, loadCheckpointTokenizer, resumeSettings } from './resume';
import { Progress } from '../train/progress';
import { Trainer } from '../train/trainer';
import { init } from '../parallel/comm';
import { detectMpiLaunch } from '../parallel/mpi-env';
import { launch } from '../parallel/launch';
import { ZeroOptimizer } from '../parallel/zero';
import { useRankGpu } from '../parallel/rank-gpu';
import { Flags, Parsed, UsageError, parseFlags } from './args';
import { checkDevice } from '../nn/device';
import type { Device } from '../../types/core';
import { expandConfigFile } from './config-file';
import { runSettings, writeRunJson } from './run-json';
import { resolveConfig } from './info';
import { checkMemory } from './memory-check';
import { gemmFlopsPerSecond } from '../sweep/flops';
import { loadReporters, parseReportTo, rowScalars, type ReportTarget } from '../train/report-to';
import type { MoonlightConfig } from '../nn/config';

export const trainFlags: Flags = {
  config: { type: 'string', default: 'tiny', help: 'tiny|small|moonlight-16b-a3b or a config.json path' },
  optimizer: { type: 'string', choices: ['muon', 'adamw'], default: 'muon', help: 'optimizer (AdamW: betas 0.9/0.95, eps 1e-8)' },
  steps: { type: 'int', min: 1, default: 2000, help: 'optimizer steps' },
  'batch-size': { type: 'int', min: 1, default: 16, help: 'sequences per micro-batch (over all ranks)' },
  'grad-accum': { type: 'int', min: 1, default: 1, help: 'micro-batches per optimizer step: gradients accumulated, one update per batch-size x grad-accum sequences' },
  'seq-len': { type: 'int', min: 2, default: 128, help: 'tokens per sequence' },
  lr: { type: 'number', min: 0, default: 3e-3, help: 'peak learning rate (Muon and its AdamW alike)' },
  'weight-decay': { type: 'number', min: 0, default: 0.1, help: 'decoupled weight decay' },
  warmup: { type: 'int', min: 0, default: 100, help: 'linear warm-up steps' },
  'warmup-fraction': { type: 'number', min: 0, help: 'warm-up as a fraction of --steps (instead of --warmup)' },
  schedule: { type: 'string', choices: ['cosine', 'wsd'], default: 'cosine', help: 'lr schedule after warm-up' },
  'decay-fraction': { type: 'number', min: 0, default: 0.2, help: 'wsd: fraction of the steps spent decaying linearly to 0' },
  'adam-betas': { type: 'string', default: '0.9,0.95', help: 'AdamW betas b1,b2 (AdamW, and Muon\'s internal AdamW)' },
  precision: { type: 'string', choices: ['bf16', 'f32'], default: 'bf16', help: 'weights and activations' },
  device: { type: 'string', choices: ['cpu', 'cuda'], default: 'cpu', help: 'where weights, activations, gradients and optimizer state live' },
  seed: { type: 'int', min: 0, default: 1, help: 'initialisation and batch order' },
  data: { type: 'string', default: 'brown', help: "'brown', a .txt / llm.c / uint16 token file, or a quoted glob of llm.c shards ('DIR/train_*.bin', read lazily)" },
  'val-data': { type: 'string', help: "validation shards: a quoted glob or an llm.c file (default: the last 10% of --data)" },
  tokenizer: { type: 'string', choices: ['bpe', 'word'], default: 'bpe', help: "'word': words, rare ones (< 4 in train) as <unk>, as Bengio et al. 2003; the model's vocab_size becomes the tokenizer's" },
  'eval-every': { type: 'int', min: 1, default: 200, help: 'validation every N steps' },
  'eval-batches': { type: 'string', default: '16', help: "validation batches (of batch-size x grad-accum sequences) per evaluation, or 'all' (the whole split)" },
  'eval-context': { type: 'int', min: 0, help: 'every scored validation token has this much context, at least (overlapping windows; default 64 with --eval-batches all, else 0: disjoint windows)' },
  'checkpoint-every': { type: 'int', min: 1, default: 500, help: 'checkpoint every N steps (and at the end)' },
  clip: { type: 'number', min: 0, default: 1, help: 'clip the global gradient norm (0: off)' },
  out: { type: 'string', default: 'runs/latest', help: 'run directory' },
  resume: { type: 'string', help: 'continue the run in this directory' },
  'init-from': { type: 'string', help: 'start from a Hugging Face folder\'s weights (config.json, model.safetensors or a sharded index) with a fresh optimizer; its tokenizer.json tokenizes the data' },
  'stop-after': { type: 'int', min: 1, help: 'stop (with a checkpoint) after N steps of this invocation; the schedule still follows --steps' },
  'cache-dir': { type: 'string', help: 'tokenizer and token cache (default ~/.cache/moontrain)' },
  overwrite: { type: 'bool', help: 'replace the run already in --out (its checkpoints and metrics are deleted)' },
  'keep-checkpoints': { type: 'int', min: 0, default: 3, help: 'complete checkpoint-<step>/ folders kept (0: all)' },
  nproc: { type: 'int', min: 1, default: 1, help: 'ranks (processes) on this host: ZeRO-1 with Distributed Muon' },
  'report-to': { type: 'string', help: 'tensorboard,wandb,mlflow: where the scalars go besides metrics.jsonl (wandb: npm package @wandb/sdk, mlflow: npm package mlflow)' },
  'config-file': { type: 'string', help: 'settings as JSON (or TOML): flag names as keys; flags given here override them' },
};

export function cacheDir(a: Parsed): string {
  return (a['cache-dir'] as string | undefined) ?? process.env.MOONTRAIN_CACHE ?? path.join(os.homedir(), '.cache', 'moontrain');
}

/** --device, checked before anything is written: one line saying why 'cuda' cannot be used here. */
function trainingDevice(given: unknown): Device {
  try {
    return checkDevice('moontrain train', given);
  } catch (e) {
    throw new UsageError(`${(e as Error).message.replace("option 'device'", '--device')}`);
  }
}

export async function trainCommand(given: string[]): Promise<number> {
  const argv = expandConfigFile(given, trainFlags, 'train');
  let a = parseFlags(argv, trainFlags, 'train');
  const nproc = a.nproc as number;
  // A rank of our own launcher (WORLD_SIZE), or of mpirun / srun (no launcher of ours: rank 0
  // prepares the run folder and holds its lock while the others wait at a barrier).
  const mpi = process.env.WORLD_SIZE === undefined ? detectMpiLaunch(process.env) : null;
  if (mpi && nproc > 1)
    throw new UsageError(`moontrain train: --nproc ${nproc} under ${mpi.launcher === 'slurm' ? 'srun' : 'mpirun'}: the launcher starts the ranks (-n / --ntasks); drop --nproc`);
  const isRank = process.env.WORLD_SIZE !== undefined || mpi !== null;
  // Before --device is checked: that initializes CUDA, after which CUDA_VISIBLE_DEVICES is fixed.
  if (isRank) useRankGpu();
  const resume = a.resume as string | undefined;
  if (resume && a['init-from'] !== undefined) throw new UsageError('moontrain train: --resume and --init-from cannot be combined (a resumed run continues from its own checkpoint)');
  if (a['init-from'] !== undefined && argv.some((x) => x === '--config' || x.startsWith('--config=')))
    throw new UsageError("moontrain train: --init-from takes the model's config.json from its folder; drop --config");
  // A Hugging Face folder to start from: its config, weights and tokenizer.
  const initFolder = a['init-from'] !== undefined ? openHfFolder(a['init-from'] as string, 'moontrain train: --init-from') : undefined;
  if (initFolder) a = { ...a, config: initFolder.configFile };
  let startStep = 0, startTokens = 0;
  let resumed: ReturnType<typeof resumeSettings> | undefined;
  if (resume) {
    resumed = resumeSettings(resume, argv);
    for (const key of ['data_fingerprint', 'val_data_fingerprint']) {
      const saved = resumed.state[key] as DataFingerprint | undefined;
      if (saved) checkFingerprint(saved, 'train --resume');
    }
    a = resumed.args;
    startStep = resumed.state.step;
    startTokens = resumed.state.tokens;
  } else {
    checkDataFile(a.data as string, 'train');
    if (initFolder && !initFolder.tokenizer && (a.data === 'brown' || detectDataFormat(a.data as string) === 'text'))
      throw tokenizerNeeded('moontrain train: --init-from', initFolder.dir, `to tokenize ${a.data}`);
    if (initFolder && a.tokenizer === 'word') throw new UsageError("moontrain train: --init-from uses the folder's tokenizer; drop --tokenizer word");
    if (a['val-data'] !== undefined) checkDataFile(a['val-data'] as string, 'train', '--val-data');
  }
  const out = a.out as string;
  // Settings checked before anything is written.
  const betas = parseBetas(a['adam-betas']);
  const evalPlan = parseEvalPlan(a, a['seq-len'] as number);
  const warmup = warmupSteps(a);
  const device = trainingDevice(a.device);
  // The optional reporting packages are loaded first: a missing one fails before anything is written.
  let reportTo: ReportTarget[];
  try {
    reportTo = parseReportTo(a['report-to'] as string | undefined);
  } catch (e) {
    throw new UsageError(`moontrain train: ${(e as Error).message}`);
  }
  const makeReporters = await loadReporters(reportTo).catch((e: Error & { code?: string }) => {
    throw e.code === 'ERR_MOONTRAIN_MISSING_PACKAGE' ? new UsageError(`moontrain train: ${e.message}`) : e;
  });
  if (((a['decay-fraction'] as number | undefined) ?? 0) > 1) throw new UsageError(`moontrain train: --decay-fraction: expected a number in [0, 1], got ${a['decay-fraction']}`);
  if (nproc > 1 && !isRank) {
    // The launcher: one process per rank, like torchrun; a failing rank stops the job. It holds
    // the run folder's lock for its ranks.
    if ((a['batch-size'] as number) % nproc !== 0)
      throw new UsageError(`moontrain train: --batch-size ${a['batch-size']}${resume ? ' (the run\'s)' : ''} must divide evenly over --nproc ${nproc}`);
    if (nproc > 64) throw new UsageError(`moontrain train: --nproc: expected an integer in [1, 64], got ${nproc}`);
    checkFits(a, resumed ? resumed.config : initFolder ? initFolder.config : resolveConfig(a.config as string), nproc);
    prepareOut(out, { resumeInPlace: resumed?.inPlace ?? false, overwrite: !!a.overwrite, notice: (l) => process.stderr.write(l + '\n') });
    return launch({ nproc, argv: [...process.execArgv, process.argv[1], 'train', ...given] });
  }
  const comm = isRank ? init() : undefined;
  const W = comm?.size ?? 1, rank = comm?.rank ?? 0;
  const progress = new Progress(startStep, rank === 0 ? process.stderr : devNull());
  let config = resumed ? resumed.config : initFolder ? initFolder.config : resolveConfig(a.config as string);
  // Everything checkable is checked before the run folder is touched.
  if (!isRank || (mpi && rank === 0)) {
    checkFits(a, config, 1);
    prepareOut(out, { resumeInPlace: resumed?.inPlace ?? false, overwrite: !!a.overwrite, notice: (l) => progress.message(l) });
  }
  if (mpi) comm!.barrier();
  if (resumed?.changes) progress.message(resumed.changes);
  const B = a['batch-size'] as number, S = a['seq-len'] as number, steps = a.steps as number, N = (a['grad-accum'] as number | undefined) ?? 1;
  if (B % W !== 0) throw new UsageError(`moontrain train: --batch-size ${B} must divide evenly over ${W} ranks`);
  progress.message(`moontrain train: ${a.config} on ${a.data}, ${a.optimizer}, ${a.precision}, ${device === 'cuda' ? `cuda (${info().cuda.devices[0]?.name ?? 'GPU'})` : `${info().isa} x${info().threads} threads`}${W > 1 ? ` x ${W} ranks (ZeRO-1)` : ''}${N > 1 ? `, ${N} micro-batches of ${B} per step` : ''} -> ${out}`);
  // A resumed run uses the tokenizer its checkpoint carries, on data whose fingerprint is unchanged.
  let fingerprint: DataFingerprint;
  let savedTokenizer: ReturnType<typeof loadCheckpointTokenizer>;
  const valData = a['val-data'] as string | undefined;
  let valFingerprint = resumed?.state.val_data_fingerprint as DataFingerprint | undefined;
  if (resumed) {
    fingerprint = (resumed.state.data_fingerprint as DataFingerprint | undefined) ?? dataFingerprint(a.data as string);
    savedTokenizer = loadCheckpointTokenizer(resumed.checkpoint);
  } else {
    fingerprint = dataFingerprint(a.data as string);
    savedTokenizer = initFolder?.tokenizer;
  }
  if (valData !== undefined) valFingerprint ??= dataFingerprint(valData);
  const tokenizerKind = (a.tokenizer as 'bpe' | 'word' | undefined) ?? 'bpe';
  const data = loadDataset({ data: a.data as string, valData, vocabSize: config.vocab_size, cacheDir: cacheDir(a), tokenizer: savedTokenizer, tokenizerKind });
  if (tokenizerKind === 'word' && !resumed) config = { ...config, vocab_size: data.vocabSize };
  if (data.vocabSize > config.vocab_size)
    throw new UsageError(`moontrain train: the data uses token ids up to ${data.vocabSize - 1}, beyond the model's vocab_size ${config.vocab_size}`);
  if (!resumed && !initFolder && data.tokenizer && data.vocabSize < config.vocab_size) {
    progress.message(`notice: the tokenizer of this data has ${data.vocabSize} tokens; the model's vocab_size is ${data.vocabSize} (the config asks for ${config.vocab_size})`);
    config = { ...config, vocab_size: data.vocabSize };
  }
  // The end-of-text token is the model's bos and eos (config.json, generation_config.json).
  const eot = data.tokenizer instanceof BpeTokenizer ? data.tokenizer.endOfTextId : undefined;
  if (!resumed && !initFolder && eot !== undefined) config = { ...config, bos_token_id: eot, eos_token_id: eot } as MoonlightConfig;
  progress.message(`data: ${data.description}`);
  const settings = { ...runSettings(a), ...(initFolder ? { 'init-from': path.resolve(initFolder.dir), config: path.resolve(initFolder.configFile) } : {}) };
  if (rank === 0) writeRunJson(out, settings);
  const model = resumed || initFolder
    ? loadCheckpointModel(resumed ? resumed.checkpoint : initFolder!.dir, a.precision as 'bf16' | 'f32', device)
    : new MoonlightModel(config, { precision: a.precision as 'bf16' | 'f32', seed: a.seed as number, device });
  const lr = a.lr as number, wd = a['weight-decay'] as number;
  // With ranks, the inner optimizer only lends its settings: ZeRO keeps 1/N of the state.
  const inner = a.optimizer === 'adamw'
    ? new AdamW(comm ? [] : model.parameters(), { lr, betas, eps: 1e-8, weightDecay: wd })
    : new Muon(comm ? [] : model.parameters(), { lr, weightDecay: wd, adamw: { betas, eps: 1e-8 } });
  const optimizer = comm ? new ZeroOptimizer(inner, comm, model.parameters(), { clip: (a.clip as number) || undefined }) : inner;
  if (resumed) loadOptimizerState(resumed.checkpoint, optimizer);
  if (resumed && !resumed.inPlace && rank === 0) {
    // Continued into another folder: it starts with the run's metrics up to the checkpoint.
    const rows = path.join(resumed.runDir, 'metrics.jsonl');
    if (fs.existsSync(rows)) fs.copyFileSync(rows, path.join(out, 'metrics.jsonl'));
  }
  // A step's global batch is B x N rows; rank r's micro-batch m is its (r N + m)-th slice of B / W rows.
  const batcher = new TokenBatcher(data.train, { batchSize: B * N, seqLen: S, seed: a.seed as number });
  const val = evalPlan.context > 0 ? stridedEvalBatches(data.val, { batchSize: B, seqLen: S, minContext: evalPlan.context }) : evalBatches(data.val, { batchSize: B, seqLen: S });
  // Validation runs in micro-batches too: --eval-batches counts batches of B x N sequences.
  const evalLimit = evalPlan.batches * N;
  const sched = { lr, warmup, total: steps, decayFraction: a['decay-fraction'] as number | undefined };
  // The tokenizer travels with the checkpoint in the Hugging Face format (BPE runs; a word run's
  // vocabulary is rebuilt from its data, whose fingerprint is checked); a run started from a
  // Hugging Face folder carries that folder's tokenizer files as they are.
  const checkpointFiles = initFolder && Object.keys(initFolder.tokenizerFiles).length
    ? initFolder.tokenizerFiles
    : data.tokenizer instanceof BpeTokenizer
      ? { 'tokenizer.json': toHfTokenizerJson(data.tokenizer), 'tokenizer_config.json': hfTokenizerConfigJson(data.tokenizer, S) }
      : undefined;
  // 512^3 products: about 0.1 s at the start of a run (bench step times 1024^3 ones).
  const peakFlops = gemmFlopsPerSecond(a.precision as 'bf16' | 'f32', device === 'cuda' ? 4096 : 512, device);
  progress.message(`MFU against a ${a.precision} GEMM rate of ${(peakFlops / 1e9).toFixed(0)} GFLOP/s measured now${W > 1 ? ' per rank' : ''}`);
  const reporters = rank === 0 ? await makeReporters({ out, config: { ...a, resume: undefined, overwrite: undefined } }) : [];
  const trainer = new Trainer({
    model, optimizer, comm, batchSize: B / W, seqLen: S, steps, seed: a.seed as number, out,
    batch: (s, m) => batcher.batch(s, rank * N + m, W * N),
    gradAccum: N, peakFlops,
    valBatches: () => (evalLimit === Infinity ? val : val.slice(0, evalLimit)),
    lr: (s) => (a.schedule === 'wsd' ? wsdLr(s, sched) : cosineLr(s, sched)),
    clip: (a.clip as number) || undefined,
    evalEvery: a['eval-every'] as number,
    checkpointEvery: a['checkpoint-every'] as number,
    startStep, startTokens,
    stopAfter: a['stop-after'] as number | undefined,
    keepCheckpoints: a['keep-checkpoints'] as number,
    checkpointFiles,
    state: {
      args: settings,
      data: data.description, words: data.words, data_fingerprint: fingerprint,
      ...(valFingerprint ? { val_data_fingerprint: valFingerprint } : {}),
      ...(data.bytes ? { bytes: data.bytes, valTokensPerByte: data.val.length / data.bytes.val } : {}),
    },
    onStep: (m) => {
      progress.update({ step: m.step, total: steps, loss: m.loss, tokensPerS: m.tokens_per_s, valLoss: m.val_loss });
      for (const r of reporters) r.log(m.step, rowScalars(m));
    },
    onNotice: (line) => progress.message(line),
  });
  // Ctrl-C and SIGTERM (timeout, docker stop, preemption): finish the step, checkpoint, exit 128 + signal.
  let signal: NodeJS.Signals | undefined;
  const onSignal = (sig: NodeJS.Signals) => {
    if (signal) return;
    signal = sig;
    progress.message(`${sig === 'SIGINT' ? 'interrupted' : `${sig} received`}: finishing this step and saving a checkpoint (Ctrl-C again to abort)`);
    process.off('SIGINT', onSignal);
    trainer.interrupt();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let reason: Awaited<ReturnType<Trainer['run']>>;
  try {
    reason = await trainer.run();
  } finally {
    for (const r of reporters) await r.close().catch((e: Error) => progress.message(`notice: --report-to: ${e.message}`));
  }
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  progress.end();
  comm?.close();
  const code = signal ? 128 + (os.constants.signals[signal] ?? 0) : 0;
  if (rank !== 0) {
    model.dispose();
    return code;
  }
  const rows = trainer.metrics!.rows;
  const lastVal = [...rows].reverse().find((r) => r.val_loss !== undefined)?.val_loss;
  const kept = latestCheckpoint(out);
  progress.message(reason === 'interrupted'
    ? `stopped at step ${trainer.step}; checkpoint in ${kept}; continue with: moontrain train --resume ${out}`
    : `done: ${trainer.step} steps, ${trainer.tokens.toLocaleString('en-US')} tokens, validation loss ${lastVal?.toFixed(4)} (perplexity ${lastVal !== undefined ? Math.exp(lastVal).toFixed(2) : '?'} per token); ${out}/metrics.jsonl, ${out}/loss.svg, ${kept}`);
  optimizer.dispose();
  model.dispose();
  return code;
}

/** The sequence length within the config's positions, and the run within this machine's memory. */
function checkFits(a: Parsed, config: MoonlightConfig, ranks: number): void {
  const S = a['seq-len'] as number, max = config.max_position_embeddings;
  if (max !== undefined && S > max) throw new UsageError(`moontrain train: --seq-len ${S} exceeds the config's max_position_embeddings ${max}`);
  checkMemory(config, a.precision as 'bf16' | 'f32', a.optimizer as 'muon' | 'adamw', ranks, a.config as string);
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
