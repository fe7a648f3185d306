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

export interface TrainerOptions {
  model: MoonlightModel;
  optimizer: OptimizerLike & { lr: number; step(): void; zeroGrad(): void; distributed?: boolean; lastGradNorm?: number; shard?(): OptimizerShard };
  /** Data parallelism: this rank's share of each batch; losses, loads and norms are reduced. */
  comm?: Communicator;
  /** The training batch of a step: a pure function of the step (and the data seed). */
  batch: (step: number) => Pick<Batch, 'ids' | 'targets'>;
  /** Validation batches (iterated in full at each evaluation). */
  valBatches?: () => Iterable<Pick<Batch, 'ids' | 'targets'>>;
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

  /** One optimizer step; throws (before any update) if the loss is not finite. */
  trainStep(): StepMetrics {
    const { model, optimizer: opt } = this.o;
    const t0 = process.hrtime.bigint();
    const lr = this.o.lr(this.step);
    opt.lr = lr;
    const b = this.o.batch(this.step);
    const local = model.loss(b.ids, b.targets, [this.o.batchSize, this.o.seqLen]);
    const W = this.o.comm?.size ?? 1;
    const [lossSum, count, auxSum] = this.reduce([local * model.lastStats.tokens, model.lastStats.tokens, model.lastStats.auxLoss]);
    const loss = count > 0 ? lossSum / count : 0;
    const aux = auxSum / W;
    if (!Number.isFinite(loss) || !Number.isFinite(aux)) {
      model.zeroGrad();
      model.clearActivations();
      const kept = this.o.out ? latestCheckpoint(this.o.out) : null;
      const e = new Error(`training stopped at step ${this.step}: the loss is ${loss} (aux ${aux}); ${kept ? `the last checkpoint was kept (${kept})` : 'no checkpoint had been written yet'}`) as Error & { code: string };
      e.code = 'ERR_MOONTRAIN_NONFINITE_LOSS';
      throw e;
    }
    model.backward();
    let norm: number;
    if (opt.distributed) {
      opt.step();  // reduce-scatter, clipping by the global norm, update, all-gather
      norm = opt.lastGradNorm ?? NaN;
    } else {
      const params = model.parameters();
      norm = this.o.clip ? clipGradNorm(params, this.o.clip) : gradNorm(params);
      opt.step();
    }
    opt.zeroGrad();
    for (const m of model.moeLayers()) m.updateBias(this.o.routerBiasRate ?? 1e-3, Float64Array.from(this.reduce(Array.from(m.stats.load))));
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const tokens = this.o.batchSize * this.o.seqLen * (this.o.comm?.size ?? 1);
    this.tokens += tokens;
    const row: StepMetrics = { step: this.step, loss, lr, tokens: this.tokens, tokens_per_s: tokens / seconds, grad_norm: norm };
    if (aux) row.aux_loss = aux;
    this.step++;
    return row;
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
    const state = { ...this.o.state, step: this.step, tokens: this.tokens, seed: this.o.seed };
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
