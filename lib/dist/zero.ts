// ZeRO-1 with Moonlight's Distributed Muon (method.md §3) over a Communicator.
//
// Flat layout, as in the original Megatron distributed optimizer: the trainable parameters are
// concatenated in model order (N elements) and split evenly, rank r owning [b_r, b_{r+1}); only
// the matrices that straddle a boundary are split. Each rank keeps fp32 master weights and
// optimizer state for its slice only. Per step:
//   1. reduce-scatter the gradients (fp32) → the local slice of the averaged gradient;
//      the global gradient norm from the slices (all-reduced) for clipping;
//   2. AdamW on the local slice of its parameters;
//   3. Muon: momentum on the local slice; the Nesterov inputs of the matrices that are not
//      wholly local are all-gathered (bf16 in bf16 mode) so that every rank holding part of a
//      matrix has it whole; Newton–Schulz on whole matrices (same-shape ones batched); each rank
//      keeps its slice of the result and applies the update;
//   4. all-gather the parameters (in the model's precision) into every rank's model.
import type { DType, Tensor } from '../../types/core';
import type { Parameter } from '../nn/parameter';
import { AdamW } from '../optim/adamw';
import { Muon, isMuonParameter, muonScale } from '../optim/muon';
import type { ParamStateDict } from '../optim/state';
import { ops } from '../ops';
import { tensor } from '../tensor';
import type { Communicator } from './comm';
import { untrackedMemory } from '../runtime';

interface Piece {
  param: Parameter;
  index: number;     // parameter index in the flat layout
  offset: number;    // global offset of the parameter
  start: number;     // first element of the parameter held here
  length: number;
  muon: boolean;
  master: Tensor;    // [length] fp32
  buffers: Record<string, Tensor>;
}

// One matrix of a Muon parameter (an expert of a stack, or the whole 2-D matrix).
interface Unit {
  piece: Piece;
  begin: number;     // global element range
  end: number;
  rows: number;
  cols: number;
}

export interface ZeroOptions {
  /** Clip the global gradient norm to this (0 or undefined: no clipping). */
  clip?: number;
}

export class ZeroOptimizer {
  readonly distributed = true;
  stepCount = 0;
  lastGradNorm = 0;
  private readonly params: Parameter[];
  private readonly offsets: number[];
  private readonly total: number;
  private readonly bounds: number[];
  private readonly pieces: Piece[] = [];
  private readonly kind: 'muon' | 'adamw';

  constructor(private readonly inner: Muon | AdamW, private readonly comm: Communicator, params: Parameter[], private readonly options: ZeroOptions = {}) {
    this.kind = inner instanceof Muon ? 'muon' : 'adamw';
    this.params = params.filter((p) => p.requiresGrad);
    this.offsets = [];
    let n = 0;
    for (const p of this.params) {
      this.offsets.push(n);
      n += numel(p.value.shape);
    }
    this.total = n;
    const W = comm.size;
    this.bounds = Array.from({ length: W + 1 }, (_, r) => Math.floor((r * n) / W));
    const lo = this.bounds[comm.rank], hi = this.bounds[comm.rank + 1];
    this.params.forEach((p, index) => {
      const o = this.offsets[index], size = numel(p.value.shape);
      const a = Math.max(o, lo), b = Math.min(o + size, hi);
      if (a >= b) return;
      const all = p.value.toFloat32Array();
      const muon = this.kind === 'muon' && isMuonParameter(p);
      const names = muon ? ['momentum_buffer'] : ['exp_avg', 'exp_avg_sq'];
      const buffers: Record<string, Tensor> = {};
      for (const k of names) buffers[k] = tensor(new Float32Array(b - a), [b - a]);
      this.pieces.push({ param: p, index, offset: o, start: a - o, length: b - a, muon, master: tensor(all.slice(a - o, b - o), [b - a]), buffers });
    });
  }

  get lr(): number {
    return this.inner.lr;
  }
  set lr(v: number) {
    this.inner.lr = v;
  }

  /** Elements of the flat layout each rank owns. */
  counts(): number[] {
    return this.bounds.slice(1).map((b, r) => b - this.bounds[r]);
  }

  step(): void {
    // The optimizer disposes what it makes: no external-memory reports (see untrackedMemory).
    untrackedMemory(() => {
      this.stepCount++;
      const g = this.reduceScatterGradients();
      this.lastGradNorm = Math.sqrt(this.comm.allReduceNumbers(Float64Array.of(sumSquares(g)), 'sum')[0]);
      const clip = this.options.clip;
      if (clip && Number.isFinite(this.lastGradNorm) && this.lastGradNorm > clip) {
        const s = clip / (this.lastGradNorm + 1e-6);
        for (let i = 0; i < g.length; ++i) g[i] *= s;
      }
      const lo = this.bounds[this.comm.rank];
      const grads = this.pieces.map((p) => tensor(g.subarray(p.offset + p.start - lo, p.offset + p.start - lo + p.length), [p.length]));
      const lr = this.inner.lr, wd = this.inner.weightDecay;
      if (this.inner instanceof Muon) this.muonStep(grads);
      const adam = this.inner instanceof Muon ? this.inner.adamwRule : this.inner.rule;
      this.pieces.forEach((p, i) => {
        if (p.muon) return;
        ops.adamwStep(p.master, grads[i], p.buffers.exp_avg, p.buffers.exp_avg_sq, {
          lr, beta1: adam.betas[0], beta2: adam.betas[1], eps: adam.eps, weightDecay: wd, step: this.stepCount,
        });
      });
      for (const t of grads) t.dispose();
      this.allGatherParameters();
    });
  }

  /** The local slice of the mean of every rank's gradients (fp32, flat). */
  private reduceScatterGradients(): Float32Array {
    const flat = new Float32Array(this.total);
    this.params.forEach((p, i) => {
      if (p.grad) flat.set(p.grad.toFloat32Array(), this.offsets[i]);
    });
    const scale = 1 / this.comm.size;
    for (let i = 0; i < flat.length; ++i) flat[i] *= scale;
    const t = tensor(flat, [this.total]);
    const local = this.comm.reduceScatterV(t, this.counts());
    t.dispose();
    const out = local.toFloat32Array();
    local.dispose();
    return out;
  }

  private muonStep(grads: Tensor[]): void {
    const muon = this.inner as Muon;
    const lo = this.bounds[this.comm.rank], hi = this.bounds[this.comm.rank + 1];
    // Nesterov inputs of the local slices.
    const u = new Map<Piece, Float32Array>();
    this.pieces.forEach((p, i) => {
      if (!p.muon) return;
      const t = ops.muonMomentum(p.buffers.momentum_buffer, grads[i], { momentum: muon.momentum, nesterov: muon.nesterov });
      u.set(p, t.toFloat32Array());
      t.dispose();
    });
    // Matrices touching this rank; those cut by a rank boundary are exchanged whole.
    const units: Unit[] = [];
    for (const p of this.pieces) if (p.muon) units.push(...unitsOf(p, this.offsets[p.index]).filter((x) => x.end > lo && x.begin < hi));
    const straddling = (b: number, e: number) => this.bounds.some((x) => x > b && x < e);
    // Every rank sends the parts it holds of all cut matrices, in global order, so the gathered
    // buffer is the cut matrices, whole and in order.
    const cut = this.allCutUnits();
    const mine: number[] = [];
    for (const c of cut) for (let k = Math.max(c.begin, lo); k < Math.min(c.end, hi); ++k) mine.push(k);
    const counts = this.bounds.slice(1).map((b, r) => cut.reduce((a, c) => a + Math.max(0, Math.min(c.end, b) - Math.max(c.begin, this.bounds[r])), 0));
    let gathered: Float32Array | null = null;
    if (cut.length) {
      const send = new Float32Array(mine.length);
      mine.forEach((k, j) => (send[j] = this.uAt(u, k)));
      const dtype: DType = this.params[0].value.dtype;
      const t = tensor(send, [send.length], { dtype });
      const all = this.comm.allGatherV(t, counts);
      t.dispose();
      gathered = all.toFloat32Array();
      all.dispose();
    }
    const cutStart = new Map<number, number>();
    let pos = 0;
    for (const c of cut) {
      cutStart.set(c.begin, pos);
      pos += c.end - c.begin;
    }
    // Whole matrices, grouped by shape for batched Newton–Schulz.
    const groups = new Map<string, Unit[]>();
    for (const x of units) {
      const key = `${x.rows}x${x.cols}`;
      (groups.get(key) ?? groups.set(key, []).get(key)!).push(x);
    }
    const precision = this.params[0].value.dtype;
    const orth = new Map<Unit, Float32Array>();
    for (const list of groups.values()) {
      const { rows, cols } = list[0];
      const data = new Float32Array(list.length * rows * cols);
      list.forEach((x, j) => {
        const whole = straddling(x.begin, x.end) ? gathered!.subarray(cutStart.get(x.begin)!, cutStart.get(x.begin)! + rows * cols) : this.localRange(u, x.begin, x.end);
        data.set(whole, j * rows * cols);
      });
      const input = tensor(data, [list.length, rows, cols], { dtype: precision });
      const coefficients = muon.nsCoefficients;
      const o = ops.newtonSchulz(input, coefficients ? { steps: muon.nsSteps, coefficients } : { steps: muon.nsSteps });
      input.dispose();
      const od = o.toFloat32Array();
      o.dispose();
      list.forEach((x, j) => orth.set(x, od.subarray(j * rows * cols, (j + 1) * rows * cols)));
    }
    // Keep the local slice of each result and apply the update to the local master weights.
    for (const p of this.pieces) {
      if (!p.muon) continue;
      const a = p.offset + p.start, b = a + p.length;
      const local = new Float32Array(p.length);
      for (const x of units) {
        if (x.piece !== p) continue;
        const o = orth.get(x)!;
        for (let k = Math.max(x.begin, a); k < Math.min(x.end, b); ++k) local[k - a] = o[k - x.begin];
      }
      const [rows, cols] = p.param.value.shape.slice(-2);
      const t = tensor(local, [p.length], { dtype: precision });
      ops.muonApply(p.master, t, { lr: muon.lr, weightDecay: muon.weightDecay, scale: muonScale(muon.scale, rows, cols) });
      t.dispose();
    }
  }

  /** Every matrix of every Muon parameter that some rank boundary cuts, in global order. */
  private allCutUnits(): { begin: number; end: number }[] {
    const out: { begin: number; end: number }[] = [];
    this.params.forEach((p, i) => {
      if (!isMuonParameter(p)) return;
      const [rows, cols] = p.value.shape.slice(-2);
      const n = numel(p.value.shape);
      for (let b = this.offsets[i]; b < this.offsets[i] + n; b += rows * cols)
        if (this.bounds.some((x) => x > b && x < b + rows * cols)) out.push({ begin: b, end: b + rows * cols });
    });
    return out;
  }

  private uAt(u: Map<Piece, Float32Array>, k: number): number {
    for (const [p, arr] of u) {
      const a = p.offset + p.start;
      if (k >= a && k < a + p.length) return arr[k - a];
    }
    throw new Error(`ZeroOptimizer: element ${k} is not local`);
  }

  private localRange(u: Map<Piece, Float32Array>, begin: number, end: number): Float32Array {
    for (const [p, arr] of u) {
      const a = p.offset + p.start;
      if (begin >= a && end <= a + p.length) return arr.subarray(begin - a, end - a);
    }
    throw new Error(`ZeroOptimizer: matrix [${begin}, ${end}) is not local`);
  }

  /** Every rank's updated slice into every rank's parameters, in the model's precision. */
  private allGatherParameters(): void {
    const dtype = this.params[0]?.value.dtype ?? 'f32';
    const lo = this.bounds[this.comm.rank], hi = this.bounds[this.comm.rank + 1];
    const mine = new Float32Array(hi - lo);
    for (const p of this.pieces) mine.set(p.master.toFloat32Array(), p.offset + p.start - lo);
    const t = tensor(mine, [mine.length], { dtype });
    const all = this.comm.allGatherV(t, this.counts());
    t.dispose();
    const flat = all.toFloat32Array();
    all.dispose();
    this.params.forEach((p, i) => {
      const n = numel(p.value.shape);
      p.set(tensor(flat.subarray(this.offsets[i], this.offsets[i] + n), p.value.shape, { dtype: p.value.dtype }));
    });
  }

  zeroGrad(): void {
    for (const p of this.params) p.zeroGrad();
  }

  /** Trainable elements in the flat layout. */
  parameterCount(): number {
    return this.total;
  }

  /** Bytes of optimizer state (master weights and buffers) this rank holds. */
  stateBytes(): number {
    let n = 0;
    for (const p of this.pieces) n += p.length * 4 * (1 + Object.keys(p.buffers).length);
    return n;
  }

  routing(): { name: string; optimizer: 'muon' | 'adamw' }[] {
    return this.params.map((p) => ({ name: p.name, optimizer: this.kind === 'muon' && isMuonParameter(p) ? 'muon' as const : 'adamw' as const }));
  }

  /** The whole optimizer state in the single-process format (a collective: every rank calls it). */
  stateDict(): { step: number; params: Record<string, ParamStateDict> } {
    const names = this.kind === 'muon' ? ['momentum_buffer', 'exp_avg', 'exp_avg_sq'] : ['exp_avg', 'exp_avg_sq'];
    const gather = (get: (p: Piece) => Tensor | undefined) => {
      const lo = this.bounds[this.comm.rank], hi = this.bounds[this.comm.rank + 1];
      const mine = new Float32Array(hi - lo);
      for (const p of this.pieces) {
        const t = get(p);
        if (t) mine.set(t.toFloat32Array(), p.offset + p.start - lo);
      }
      const t = tensor(mine, [mine.length]);
      const all = this.comm.allGatherV(t, this.counts());
      t.dispose();
      const out = all.toFloat32Array();
      all.dispose();
      return out;
    };
    const master = gather((p) => p.master);
    const buffers = Object.fromEntries(names.map((k) => [k, gather((p) => p.buffers[k])]));
    const params: Record<string, ParamStateDict> = {};
    this.params.forEach((p, i) => {
      const n = numel(p.value.shape), o = this.offsets[i];
      const muon = this.kind === 'muon' && isMuonParameter(p);
      const keys = muon ? ['momentum_buffer'] : ['exp_avg', 'exp_avg_sq'];
      params[p.name] = {
        master: master.slice(o, o + n),
        buffers: Object.fromEntries(keys.map((k) => [k, buffers[k].slice(o, o + n)])),
      };
    });
    return { step: this.stepCount, params };
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
      const assign = (dst: Tensor, src: Float32Array) => {
        const t = tensor(src, [src.length]);
        ops.assign(dst, t);
        t.dispose();
      };
      assign(p.master, entry.master ? take(entry.master, 'master') : p.param.value.toFloat32Array().subarray(p.start, p.start + p.length));
      for (const k of Object.keys(p.buffers)) assign(p.buffers[k], take(entry.buffers?.[k], k));
    }
    this.stepCount = d.step;
    this.inner.stepCount = d.step;
  }

  dispose(): void {
    for (const p of this.pieces) {
      p.master.dispose();
      for (const t of Object.values(p.buffers)) t.dispose();
    }
    this.inner.dispose();
  }
}

function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function unitsOf(p: Piece, offset: number): Unit[] {
  const shape = p.param.value.shape;
  const [rows, cols] = shape.slice(-2);
  const out: Unit[] = [];
  for (let b = offset; b < offset + numel(shape); b += rows * cols) out.push({ piece: p, begin: b, end: b + rows * cols, rows, cols });
  return out;
}


function sumSquares(a: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; ++i) s += a[i] * a[i];
  return s;
}
