// The training loop the CLI uses, usable on its own: per step a deterministic batch, forward,
// backward, global-norm clipping, the optimizer step at the scheduled lr and the router-bias
// update; evaluation, metrics, the plot and checkpoints on their schedules.
import { gradNorm, clipGradNorm } from '../optim/schedule';
import type { Batch } from '../data/batcher';
import type { MoonlightModel } from '../nn/model';
import type { Communicator } from '../parallel/comm';
import { OptimizerLike, saveCheckpoint, saveShardedCheckpoint } from './checkpoint';
import type { OptimizerShard } from './optimizer-shards';
import { latestCheckpoint } from './checkpoint-layout';
import { MetricsLog, StepMetrics } from './metrics';
import { expertLoadMetrics, expertLoadSummary } from './moe-metrics';
import { flopsPerToken } from '../nn/config';
import type { MoE } from '../nn/moe';

export interface TrainerOptions {
  model: MoonlightModel;
  optimizer: OptimizerLike & { lr: number; step(): void; zeroGrad(): void; distributed?: boolean; lastGradNorm?: number; shard?(): OptimizerShard };
  /** Data parallelism: this rank's share of each batch; losses, loads and norms are reduced. */
  comm?: Communicator;
  /** Micro-batch `micro` (0 <= micro < gradAccum) of a step: a pure function of both (and the data seed). */
  batch: (step: number, micro: number) => Pick<Batch, 'ids' | 'targets'>;
  /** Micro-batches per optimizer step (default 1): their gradients are accumulated, then one update. */
  gradAccum?: number;
  /** This rank's peak FLOP/s, measured (flops.ts, gemmFlopsPerSecond): with it, each step's MFU. */
  peakFlops?: number;
  /** Validation batches (iterated in full at each evaluation). */
  valBatches?: () => Iterable<Pick<Batch, 'ids' | 'targets'>>;
  /** Rows of each micro-batch on this rank. */
  batchSize: number;
  seqLen: number;
  steps: number;
  lr: (step: number) => number;
  clip?: number;
  routerBiasRate?: number;
  evalEvery?: number;
  checkpointEvery?: number;
  /** Run directory for metrics.jsonl, loss.svg (rank 0) and checkpoints (rank 0; each ZeRO-1 rank its optimizer shard); none: nothing is written. */
  out?: string;
  seed: number;
  startStep?: number;
  startTokens?: number;
  /** Stop (saving a checkpoint) after this many steps of this run; the schedule still uses `steps`. */
  stopAfter?: number;
  /** Extra fields stored in trainer.json (settings needed to resume). */
  state?: Record<string, unknown>;
  /** Extra files of each checkpoint (name -> text), e.g. tokenizer.json. */
  checkpointFiles?: Record<string, string>;
  /** Complete checkpoints kept in `out` (default 3; 0: all). */
  keepCheckpoints?: number;
  /** One-line notices (a checkpoint that could not be written while training goes on). */
  onNotice?: (line: string) => void;
  onStep?: (m: StepMetrics) => void;
  onEval?: (m: { step: number; tokens: number; valLoss: number }) => void;
}

export type StopReason = 'done' | 'interrupted';

export class Trainer {
  step: number;
  tokens: number;
  private interrupted = false;
  private savedAt = -1;
  readonly metrics: MetricsLog | null;

  constructor(readonly o: TrainerOptions) {
    const N = o.gradAccum ?? 1;
    if (!Number.isSafeInteger(N) || N < 1) throw new Error(`Trainer: option 'gradAccum': expected an integer >= 1, got ${String(o.gradAccum)}`);
    this.step = o.startStep ?? 0;
    this.tokens = o.startTokens ?? 0;
    this.metrics = o.out && this.rank === 0 ? new MetricsLog(o.out, this.step) : null;
  }

  get rank(): number {
    return this.o.comm?.rank ?? 0;
  }

  /** Sums small values over the ranks (identity without a communicator). */
  private reduce(values: number[]): number[] {
    return this.o.comm && this.o.comm.size > 1 ? Array.from(this.o.comm.allReduceNumbers(Float64Array.from(values), 'sum')) : values;
  }

  /** Ask the loop to stop after the current step (SIGINT); it then saves a checkpoint. */
  interrupt(): void {
    this.interrupted = true;
  }

  /**
   * One optimizer step over gradAccum micro-batches; throws (before any update) if the loss is not
   * finite. Each micro-batch's gradient is weighted by its share of the step's target tokens (over
   * all ranks; its aux loss by its share of the sequences), so the step's gradient is that of the
   * mean loss over all of them, as one batch.
   */
  trainStep(): StepMetrics {
    const { model, optimizer: opt } = this.o;
    const t0 = process.hrtime.bigint();
    const lr = this.o.lr(this.step);
    opt.lr = lr;
    const N = this.gradAccum, W = this.o.comm?.size ?? 1;
    const batches = Array.from({ length: N }, (_, m) => this.o.batch(this.step, m));
    const counts = batches.map((b) => countTargets(b.targets));
    const [stepCount] = this.reduce([counts.reduce((a, c) => a + c, 0)]);
    const layers = moeLayerIndices(model);
    const loads = layers.map(([, m]) => new Float64Array(m.bias.value.shape[0]!));
    let lossSum = 0, count = 0, auxSum = 0;
    for (let m = 0; m < N; ++m) {
      const b = batches[m]!;
      // ZeRO averages the ranks' gradients: the weight carries W so that the mean is the token mean.
      // The aux loss is a mean over sequences, and every micro-batch has as many: 1/N of the step's.
      const gradScale = stepCount > 0 ? (W * counts[m]!) / stepCount : 0;
      const local = model.loss(b.ids, b.targets, [this.o.batchSize, this.o.seqLen], { gradScale, auxGradScale: 1 / N });
      lossSum += local * model.lastStats.tokens;
      count += model.lastStats.tokens;
      auxSum += model.lastStats.auxLoss / N;
      layers.forEach(([, layer], i) => layer.stats.load.forEach((l, e) => (loads[i]![e] += l)));
      model.backward();
    }
    const sums = this.reduce([lossSum, count, auxSum, this.o.peakFlops ?? NaN, ...loads.flatMap((l) => Array.from(l))]);
    const loss = sums[1]! > 0 ? sums[0]! / sums[1]! : 0;
    const aux = sums[2]! / W;
    if (!Number.isFinite(loss) || !Number.isFinite(aux)) {
      model.zeroGrad();
      model.clearActivations();
      const kept = this.o.out ? latestCheckpoint(this.o.out) : null;
      const e = new Error(`training stopped at step ${this.step}: the loss is ${loss} (aux ${aux}); ${kept ? `the last checkpoint was kept (${kept})` : 'no checkpoint had been written yet'}`) as Error & { code: string };
      e.code = 'ERR_MOONTRAIN_NONFINITE_LOSS';
      throw e;
    }
    let norm: number;
    if (opt.distributed) {
      opt.step();  // reduce-scatter (once per step, after the last micro-batch), clipping by the global norm, update, all-gather
      norm = opt.lastGradNorm ?? NaN;
    } else {
      const params = model.parameters();
      norm = this.o.clip ? clipGradNorm(params, this.o.clip) : gradNorm(params);
      opt.step();
    }
    opt.zeroGrad();
    const moe: Record<string, number>[] = [];
    let at = 4;
    for (const [index, layer] of layers) {
      const load = Float64Array.from(sums.slice(at, (at += layer.bias.value.shape[0]!)));
      layer.updateBias(this.o.routerBiasRate ?? 1e-3, load);
      moe.push(expertLoadMetrics(index, load, layer.bias.value.toFloat32Array()));
    }
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const tokens = N * this.o.batchSize * this.o.seqLen * W;
    this.tokens += tokens;
    const row: StepMetrics = { step: this.step, loss, lr, tokens: this.tokens, tokens_per_s: tokens / seconds, grad_norm: norm };
    if (aux) row.aux_loss = aux;
    row.step_time_s = seconds;
    // MFU: the model's FLOPs per token (config) x tokens/s over the measured peak of every rank.
    if (sums[3]! > 0) row.mfu = (flopsPerToken(model.config, this.o.seqLen) * row.tokens_per_s) / sums[3]!;
    row.peak_rss_mib = process.resourceUsage().maxRSS / 1024;
    Object.assign(row, expertLoadSummary(moe), ...moe);
    this.step++;
    return row;
  }

  get gradAccum(): number {
    return this.o.gradAccum ?? 1;
  }

  /** Mean cross-entropy per target token over the validation batches (split over the ranks). */
  evaluate(): number {
    const { model } = this.o;
    const W = this.o.comm?.size ?? 1;
    let sum = 0, count = 0, i = 0;
    for (const b of this.o.valBatches?.() ?? []) {
      if (i++ % W !== this.rank) continue;
      const loss = model.loss(b.ids, b.targets, [b.ids.length / this.o.seqLen, this.o.seqLen], { backward: false });
      sum += loss * model.lastStats.tokens;
      count += model.lastStats.tokens;
    }
    model.clearActivations();
    const [s, c] = this.reduce([sum, count]);
    return c ? s / c : NaN;
  }

  /**
   * A checkpoint (a collective when distributed: every rank calls it). A ZeRO-1 optimizer's state
   * is written by every rank, its own shard; otherwise rank 0 writes it all.
   */
  save(final = true): string | null {
    if (!this.o.out || this.savedAt === this.step) return null;
    this.savedAt = this.step;
    const { model, optimizer: opt, comm } = this.o;
    const state = { ...this.o.state, step: this.step, tokens: this.tokens, seed: this.o.seed, grad_accum: this.gradAccum };
    const options = { keep: this.o.keepCheckpoints, files: this.o.checkpointFiles };
    // Test hook: the consolidated format (the whole state gathered, rank 0 writes optimizer.safetensors).
    const sharded = comm && opt.shard && process.env.MOONTRAIN_TEST_CONSOLIDATED_CHECKPOINT !== '1';
    const dict = sharded ? undefined : opt.stateDict();
    if (!sharded && this.rank !== 0) return null;
    try {
      return sharded ? saveShardedCheckpoint(this.o.out, model, opt.shard!(), comm, state, options) : saveCheckpoint(this.o.out, model, dict!, state, options);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOSPC' && code !== 'EDQUOT') throw e;
      // A full disk: the partial checkpoint is gone (the save removed it), the last one stays.
      const kept = latestCheckpoint(this.o.out);
      const line = `the checkpoint at step ${this.step} could not be written (${code}: no space left on the device of ${this.o.out}); ${kept ? `kept ${kept}` : 'no earlier checkpoint exists'}`;
      if (final) throw Object.assign(new Error(line), { code: 'ERR_MOONTRAIN_CHECKPOINT_FAILED' });
      this.o.onNotice?.(`${line}; training goes on`);
      return null;
    }
  }

  async run(): Promise<StopReason> {
    const o = this.o;
    const end = o.stopAfter ? Math.min(o.steps, this.step + o.stopAfter) : o.steps;
    while (this.step < end) {
      const row = this.trainStep();
      const last = this.step === o.steps;
      if (o.valBatches && o.evalEvery && (this.step % o.evalEvery === 0 || last)) {
        row.val_loss = this.evaluate();
        o.onEval?.({ step: row.step, tokens: this.tokens, valLoss: row.val_loss });
      }
      this.metrics?.add(row);
      o.onStep?.(row);
      if (this.metrics && (row.val_loss !== undefined || last || this.step % 50 === 0)) this.metrics.writePlot();
      if (o.checkpointEvery && this.step % o.checkpointEvery === 0 && !last && this.step < end) this.save(false);
      // Let signal handlers (SIGINT) run between steps.
      await new Promise((resolve) => setImmediate(resolve));
      if (this.interrupted) {
        this.save();
        return 'interrupted';
      }
    }
    this.save();
    return this.step < o.steps ? 'interrupted' : 'done';
  }
}

function countTargets(targets: Int32Array): number {
  let n = 0;
  for (let i = 0; i < targets.length; ++i) if (targets[i]! >= 0) n++;
  return n;
}

/** The MoE layers with their decoder layer's index. */
function moeLayerIndices(model: MoonlightModel): [number, MoE][] {
  return model.moeLayers().map((m) => [model.layers.findIndex((l) => l.mlp === m), m]);
}
