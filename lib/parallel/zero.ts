// ZeRO-1 with Moonlight's Distributed Muon (docs/model-and-optimizers.md, "Distributed Muon") over a Communicator.
//
// Each rank holds its slice of the flat layout (flat-layout.ts): fp32 master weights and optimizer
// state. The updates are AdamW's and Muon's rules (lib/optim), as in one process. Per step:
//   1. reduce-scatter the gradients (fp32) → the local slice of the averaged gradient;
//      the global gradient norm from the slices (all-reduced) for clipping;
//   2. AdamW on the local slice of its parameters;
//   3. Muon: momentum on the local slice; the Nesterov inputs of the matrices that are not
//      wholly local are all-gathered (bf16 in bf16 mode) so that every rank holding part of a
//      matrix has it whole; Newton–Schulz on whole matrices (same-shape ones batched); each rank
//      keeps its slice of the result and applies the update;
//   4. all-gather the parameters (in the model's precision) into every rank's model.
import type { DType, Device, Tensor } from '../../types/core';
import type { Parameter } from '../nn/parameter';
import { AdamW } from '../optim/adamw';
import { concatFlat, splitFlat } from '../optim/flat';
import { numel } from '../shape';
import { Muon } from '../optim/muon';
import type { ParamStateDict } from '../optim/state';
import { ops } from '../ops';
import { tensor } from '../tensor';
import type { Communicator } from './comm';
import { FlatLayout, Piece, assignValues } from './flat-layout';
import type { OptimizerShard, OptimizerShardReader } from '../train/optimizer-shards';
import { reshaped } from '../nn/saved-tensors';
import { untrackedMemory } from '../runtime';

export interface ZeroOptions {
  /** Clip the global gradient norm to this (0 or undefined: no clipping). */
  clip?: number;
}

export class ZeroOptimizer {
  readonly distributed = true;
  stepCount = 0;
  lastGradNorm = 0;
  private readonly layout: FlatLayout;
  private readonly params: Parameter[];
  /** Where the parameters, gradients and this rank's optimizer state live. */
  private readonly device: Device;
  private readonly pieces: Piece[];

  constructor(private readonly inner: Muon | AdamW, private readonly comm: Communicator, params: Parameter[], private readonly options: ZeroOptions = {}) {
    this.layout = new FlatLayout(params, inner instanceof Muon ? 'muon' : 'adamw', comm.rank, comm.size);
    this.params = this.layout.params;
    this.device = this.params[0]?.value.device ?? 'cpu';
    this.pieces = this.layout.pieces;
  }

  get lr(): number {
    return this.inner.lr;
  }
  set lr(v: number) {
    this.inner.lr = v;
  }

  /** Elements of the flat layout each rank owns. */
  counts(): number[] {
    return this.layout.counts();
  }

  step(): void {
    // The optimizer disposes what it makes: no external-memory reports (see untrackedMemory).
    untrackedMemory(() => {
      this.stepCount++;
      const local = this.reduceScatterGradients();
      this.lastGradNorm = Math.sqrt(this.comm.allReduceNumbers(Float64Array.of(ops.sumSquares(local)), 'sum')[0]);
      const clip = this.options.clip;
      if (clip && Number.isFinite(this.lastGradNorm) && this.lastGradNorm > clip) ops.scaleInPlace(local, clip / (this.lastGradNorm + 1e-6));
      const grads = this.pieces.length ? splitFlat(local, this.pieces.map((p) => p.length)) : [];
      local.dispose();
      const lr = this.inner.lr, wd = this.inner.weightDecay;
      if (this.inner instanceof Muon) this.muonStep(grads);
      this.pieces.forEach((p, i) => {
        if (!p.muon) this.inner.adamwRule.update(p.master, grads[i], p.buffers.exp_avg, p.buffers.exp_avg_sq, lr, wd, this.stepCount);
      });
      for (const t of grads) t.dispose();
      this.allGatherParameters();
    });
  }

  /** The local slice [hi - lo] f32 of the mean of every rank's gradients. */
  private reduceScatterGradients(): Tensor {
    const parts = this.params.map((p) => {
      const n = numel(p.value.shape);
      if (!p.grad) return tensor(new Float32Array(n), [1, n], { device: p.value.device });
      const flat = p.grad.reshape([1, n]);
      if (flat.dtype === 'f32') return flat;
      const wide = ops.copy(flat, { dtype: 'f32' });
      flat.dispose();
      return wide;
    });
    const all = concatFlat(parts);
    if (this.comm.size > 1) ops.scaleInPlace(all, 1 / this.comm.size);
    const local = this.comm.reduceScatterV(all, this.counts());
    all.dispose();
    return local;
  }

  private muonStep(grads: Tensor[]): void {
    const muon = this.inner as Muon;
    const precision = this.params[0].value.dtype as DType;
    const inPrecision = (t: Tensor) => (t.dtype === precision ? t : consume(t, ops.copy(t, { dtype: precision })));
    // The Nesterov input of each local piece, cut into its segments (whole matrices, parts of cut ones).
    const segments = new Map<Piece, Tensor[]>();
    this.pieces.forEach((p, i) => {
      if (!p.muon) return;
      const u = muon.muonRule.momentumInput(p.buffers.momentum_buffer, grads[i]);
      if (p.segments.length === 1) {
        segments.set(p, [inPrecision(u)]);  // the common case: whole matrices only, no copy
        return;
      }
      segments.set(p, splitFlat(u, p.segments.map((s) => s.length)).map(inPrecision));
      u.dispose();
    });
    // Every rank sends the parts it holds of all cut matrices, in global order, so the gathered
    // buffer is the cut matrices, whole and in order (bf16 in bf16 mode).
    let cutWhole: Tensor[] = [];
    const { cut, cutCounts } = this.layout;
    if (cut.length) {
      const mine: Tensor[] = [];
      for (const [p, list] of segments) p.segments.forEach((s, j) => s.cut !== undefined && mine.push(list[j]));
      const send = mine.length ? concatFlat(mine, false) : tensor(new Float32Array(0), [0], { dtype: precision, device: this.device });
      const all = this.comm.allGatherV(send, cutCounts);
      send.dispose();
      cutWhole = splitFlat(all, cut.map((c) => c.end - c.begin));
      all.dispose();
    }
    // Whole matrices grouped by shape for batched Newton–Schulz: the local whole ones, and every
    // cut one this rank holds a part of.
    const groups = new Map<string, { rows: number; cols: number; inputs: Tensor[]; keys: (Tensor | number)[] }>();
    const add = (rows: number, cols: number, input: Tensor, key: Tensor | number) => {
      const k = `${rows}x${cols}`;
      const g = groups.get(k) ?? groups.set(k, { rows, cols, inputs: [], keys: [] }).get(k)!;
      g.inputs.push(input);
      g.keys.push(key);
    };
    const touched = new Set<number>();
    for (const [p, list] of segments) {
      const [rows, cols] = p.param.value.shape.slice(-2);
      p.segments.forEach((s, j) => {
        if (s.cut === undefined) add(rows, cols, list[j], list[j]);
        else if (!touched.has(s.cut)) {
          touched.add(s.cut);
          add(rows, cols, cutWhole[s.cut], s.cut);
        }
      });
    }
    const orthogonal = new Map<Tensor | number, Tensor>();
    for (const { rows, cols, inputs, keys } of groups.values())
      muon.muonRule.orthogonalize(inputs, rows, cols, precision).forEach((t, j) => orthogonal.set(keys[j], t));
    // Keep the local slice of each result and apply the update to the local master weights.
    for (const [p, list] of segments) {
      const [rows, cols] = p.param.value.shape.slice(-2);
      const parts = p.segments.map((s, j) => {
        if (s.cut === undefined) return orthogonal.get(list[j])!;
        const whole = orthogonal.get(s.cut)!;
        const m = numel(whole.shape);
        const pieces = splitFlat(whole, [s.at, s.length, m - s.at - s.length]);
        pieces[0].dispose();
        pieces[2].dispose();
        return pieces[1];
      });
      const update = parts.length === 1 ? parts[0] : concatFlat(parts);
      muon.muonRule.apply(p.master, update, rows, cols, muon.lr, muon.weightDecay);
      update.dispose();
      for (const t of list) t.dispose();
    }
    for (const t of [...cutWhole, ...orthogonal.values()]) if (!t.disposed) t.dispose();
  }

  /** Every rank's updated slice into every rank's parameters, in the model's precision. */
  private allGatherParameters(): void {
    const all = this.gatherPieces((p) => p.master, (this.params[0]?.value.dtype ?? 'f32') as DType);
    splitFlat(all, this.params.map((p) => numel(p.value.shape))).forEach((t, i) => {
      const value = reshaped(t, this.params[i].value.shape);
      ops.assign(this.params[i].value, value);
      value.dispose();
    });
    all.dispose();
  }

  /**
   * The flat layout [total] in `dtype`: every rank's pieces of get(piece), all-gathered (zeros
   * where a piece has none, e.g. a Muon piece's AdamW moments).
   */
  private gatherPieces(get: (p: Piece) => Tensor | undefined, dtype: DType): Tensor {
    const made: Tensor[] = [];
    const parts = this.pieces.map((p) => get(p) ?? made[made.push(tensor(new Float32Array(p.length), [p.length], { device: this.device })) - 1]);
    const mine = parts.length ? concatFlat(parts, false) : tensor(new Float32Array(0), [0], { device: this.device });
    for (const t of made) t.dispose();
    const send = mine.dtype === dtype ? mine : consume(mine, ops.copy(mine, { dtype }));
    const all = this.comm.allGatherV(send, this.counts());
    send.dispose();
    return all;
  }

  /** Every matrix of every Muon parameter that some rank boundary cuts, in global order. */
  allCutUnits(): { begin: number; end: number }[] {
    return this.layout.cut.map((c) => ({ ...c }));
  }

  zeroGrad(): void {
    for (const p of this.params) p.zeroGrad();
  }

  /** Trainable elements in the flat layout. */
  parameterCount(): number {
    return this.layout.total;
  }

  /** Bytes of optimizer state (master weights and buffers) this rank holds. */
  stateBytes(): number {
    let n = 0;
    for (const p of this.pieces) n += p.length * 4 * (1 + Object.keys(p.buffers).length);
    return n;
  }

  routing(): { name: string; optimizer: 'muon' | 'adamw' }[] {
    return this.params.map((p) => ({ name: p.name, optimizer: this.layout.isMuon(p) ? 'muon' as const : 'adamw' as const }));
  }

  /** The whole optimizer state in the single-process format (a collective: every rank calls it). */
  stateDict(): { step: number; params: Record<string, ParamStateDict> } {
    const names = this.layout.kind === 'muon' ? ['momentum_buffer', 'exp_avg', 'exp_avg_sq'] : ['exp_avg', 'exp_avg_sq'];
    const gather = (get: (p: Piece) => Tensor | undefined) => {
      const all = this.gatherPieces(get, 'f32');
      const out = all.toFloat32Array();
      all.dispose();
      return out;
    };
    const master = gather((p) => p.master);
    const buffers = Object.fromEntries(names.map((k) => [k, gather((p) => p.buffers[k])]));
    const params: Record<string, ParamStateDict> = {};
    this.params.forEach((p, i) => {
      const n = numel(p.value.shape), o = this.layout.offsets[i];
      const keys = this.layout.isMuon(p) ? ['momentum_buffer'] : ['exp_avg', 'exp_avg_sq'];
      params[p.name] = {
        master: master.slice(o, o + n),
        buffers: Object.fromEntries(keys.map((k) => [k, buffers[k].slice(o, o + n)])),
      };
    });
    return { step: this.stepCount, params };
  }

  /** This rank's part of the state, for a sharded checkpoint (optimizer-shards.ts): no collective, no copy. */
  shard(): OptimizerShard {
    return this.layout.shard(this.comm.rank, this.stepCount);
  }

  /** Loads this rank's slice from a sharded checkpoint written by any number of ranks, reading only that slice. */
  loadShards(reader: OptimizerShardReader): void {
    this.layout.loadShards(reader);
    this.stepCount = reader.index.step;
    this.inner.stepCount = reader.index.step;
  }

  /** Loads a single-process (or consolidated) state, whatever the number of ranks that wrote it. */
  loadStateDict(d: { step: number; params: Record<string, ParamStateDict> }): void {
    for (const p of this.pieces) {
      const entry = d.params?.[p.param.name];
      if (!entry) throw new Error(`ZeroOptimizer.loadStateDict: no state for parameter ${p.param.name}`);
      const take = (a: Float32Array | undefined, what: string) => {
        const n = numel(p.param.value.shape);
        if (!(a instanceof Float32Array) || a.length !== n) throw new Error(`ZeroOptimizer.loadStateDict: state '${what}' of ${p.param.name}: expected ${n} values`);
        return a.subarray(p.start, p.start + p.length);
      };
      assignValues(p.master, entry.master ? take(entry.master, 'master') : p.param.value.toFloat32Array().subarray(p.start, p.start + p.length));
      for (const k of Object.keys(p.buffers)) assignValues(p.buffers[k], take(entry.buffers?.[k], k));
    }
    this.stepCount = d.step;
    this.inner.stepCount = d.step;
  }

  dispose(): void {
    this.layout.dispose();
    this.inner.dispose();
  }
}

function consume(old: Tensor, result: Tensor): Tensor {
  old.dispose();
  return result;
}
