// ZeRO-1's flat layout, as in the original Megatron distributed optimizer: the trainable
// parameters are concatenated in model order (N elements) and split evenly, rank r owning
// [b_r, b_{r+1}); only the matrices that straddle a boundary are split. Each rank keeps fp32
// master weights and optimizer state for its slice only: its pieces, which a checkpoint saves as
// that rank's shard (lib/train/optimizer-shards.ts).
import type { Tensor } from '../../types/core';
import type { Parameter } from '../nn/parameter';
import { numel } from '../shape';
import { isMuonParameter } from '../optim/muon';
import { tensor } from '../tensor';
import { ops } from '../ops';
import type { OptimizerShard, OptimizerShardReader } from '../train/optimizer-shards';

export interface Piece {
  param: Parameter;
  index: number;     // parameter index in the flat layout
  offset: number;    // global offset of the parameter
  start: number;     // first element of the parameter held here
  length: number;
  muon: boolean;
  master: Tensor;    // [length] fp32
  buffers: Record<string, Tensor>;
  segments: Segment[];  // Muon pieces: whole matrices and parts of cut ones, in order
}

// A run of a local Muon piece: whole matrices (contiguous), or this rank's part of a matrix that a
// rank boundary cuts (cut: its index in the cut list, at: where the part starts inside it).
export interface Segment {
  length: number;
  cut?: number;
  at: number;
}

export class FlatLayout {
  readonly params: Parameter[];
  readonly offsets: number[] = [];
  readonly total: number;
  readonly bounds: number[];
  readonly pieces: Piece[] = [];
  /** Every matrix of every Muon parameter that a rank boundary cuts, in global order. */
  readonly cut: { begin: number; end: number }[] = [];
  /** Elements of the cut matrices each rank holds. */
  readonly cutCounts: number[];

  /** kind: which optimizer runs (with 'muon', Muon parameters keep a momentum buffer, the rest AdamW's moments). */
  constructor(params: Parameter[], readonly kind: 'muon' | 'adamw', rank: number, size: number) {
    this.params = params.filter((p) => p.requiresGrad);
    let n = 0;
    for (const p of this.params) {
      this.offsets.push(n);
      n += numel(p.value.shape);
    }
    this.total = n;
    this.bounds = Array.from({ length: size + 1 }, (_, r) => Math.floor((r * n) / size));
    const lo = this.bounds[rank], hi = this.bounds[rank + 1];
    this.params.forEach((p, index) => {
      const o = this.offsets[index], count = numel(p.value.shape);
      const a = Math.max(o, lo), b = Math.min(o + count, hi);
      if (a >= b) return;
      const all = p.value.toFloat32Array();
      const muon = this.isMuon(p);
      const names = muon ? ['momentum_buffer'] : ['exp_avg', 'exp_avg_sq'];
      const buffers: Record<string, Tensor> = {};
      const device = p.value.device;
      for (const k of names) buffers[k] = tensor(new Float32Array(b - a), [b - a], { device });
      this.pieces.push({ param: p, index, offset: o, start: a - o, length: b - a, muon, master: tensor(all.slice(a - o, b - o), [b - a], { device }), buffers, segments: [] });
    });
    const isCut = (b: number, e: number) => this.bounds.some((x) => x > b && x < e);
    this.params.forEach((p, i) => {
      if (!this.isMuon(p)) return;
      const m = matrixSize(p);
      for (let b = this.offsets[i]; b < this.offsets[i] + numel(p.value.shape); b += m) if (isCut(b, b + m)) this.cut.push({ begin: b, end: b + m });
    });
    const overlap = (lo: number, hi: number) => this.cut.reduce((n, c) => n + Math.max(0, Math.min(c.end, hi) - Math.max(c.begin, lo)), 0);
    this.cutCounts = this.bounds.slice(1).map((hi, r) => overlap(this.bounds[r], hi));
    for (const piece of this.pieces) {
      if (!piece.muon) continue;
      const m = matrixSize(piece.param);
      const a = piece.offset + piece.start, b = a + piece.length;
      const segments = piece.segments;
      for (let ub = piece.offset + Math.floor(piece.start / m) * m; ub < b; ub += m) {
        const from = Math.max(a, ub), to = Math.min(b, ub + m);
        const cut = this.cut.findIndex((c) => c.begin === ub);
        const last = segments[segments.length - 1];
        if (cut >= 0) segments.push({ length: to - from, cut, at: from - ub });
        else if (last && last.cut === undefined) last.length += m;
        else segments.push({ length: m, at: 0 });
      }
    }
  }

  /** Whether p is updated by Muon (else by AdamW). */
  isMuon(p: Parameter): boolean {
    return this.kind === 'muon' && isMuonParameter(p);
  }

  /** Elements of the flat layout each rank owns. */
  counts(): number[] {
    return this.bounds.slice(1).map((b, r) => b - this.bounds[r]);
  }

  /**
   * Rank `rank`'s part of the state (this layout's pieces), for a sharded checkpoint: the tensors
   * themselves, no copy. The master weights are included when the model is not fp32 (else they are
   * its weights).
   */
  shard(rank: number, step: number): OptimizerShard {
    const withMaster = this.params.some((p) => p.value.dtype !== 'f32');
    const fieldsOf = (p: Parameter) => [...(withMaster ? ['master'] : []), ...(this.isMuon(p) ? ['momentum_buffer'] : ['exp_avg', 'exp_avg_sq'])];
    return {
      optimizer: this.kind,
      step,
      rank,
      bounds: [...this.bounds],
      params: this.params.map((p, i) => ({ name: p.name, shape: [...p.value.shape], offset: this.offsets[i], fields: fieldsOf(p) })),
      pieces: this.pieces.map((p) => ({ name: p.param.name, start: p.start, length: p.length, tensors: { ...(withMaster ? { master: p.master } : {}), ...p.buffers } })),
    };
  }

  /**
   * Fills the pieces from a sharded checkpoint written by any number of ranks, reading only their
   * values; without saved master weights they come from the parameters.
   */
  loadShards(reader: OptimizerShardReader): void {
    const saved = reader.index.optimizer;
    if (saved !== this.kind) throw new Error(`the checkpoint holds ${saved}'s state, this run uses ${this.kind}`);
    for (const p of this.params) {
      const n = reader.numel(p.name);
      if (n !== numel(p.value.shape)) throw new Error(`parameter ${p.name}: ${n === undefined ? 'not in the checkpoint' : `${n} values in the checkpoint, ${numel(p.value.shape)} in the model`}`);
    }
    for (const p of this.pieces) {
      const name = p.param.name, end = p.start + p.length;
      const master = reader.fields(name)!.includes('master') ? reader.read(name, 'master', p.start, end) : p.param.value.toFloat32Array().subarray(p.start, end);
      assignValues(p.master, master);
      for (const k of Object.keys(p.buffers)) assignValues(p.buffers[k], reader.read(name, k, p.start, end));
    }
  }

  dispose(): void {
    for (const p of this.pieces) {
      p.master.dispose();
      for (const t of Object.values(p.buffers)) t.dispose();
    }
  }
}

/** Elements of one matrix of a Muon parameter (an expert of a stack, or the whole matrix). */
function matrixSize(p: Parameter): number {
  const [rows, cols] = p.value.shape.slice(-2);
  return rows * cols;
}

/** Writes host values into a flat f32 tensor on its device. */
export function assignValues(dst: Tensor, src: Float32Array): void {
  const t = tensor(src, [src.length], { device: dst.device });
  ops.assign(dst, t);
  t.dispose();
}
