// Deterministic initialisation: a seeded generator (mulberry32 + Box-Muller), so a seed gives
// the same model on every machine and thread count.
export class Rng {
  private s: number;
  private spare: number | null = null;

  constructor(seed: number) {
    this.s = seed >>> 0;
  }

  uniform(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(this.s ^ (this.s >>> 15), 1 | this.s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  normal(): number {
    if (this.spare !== null) {
      const v = this.spare;
      this.spare = null;
      return v;
    }
    const u = Math.max(this.uniform(), 1e-12), v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  normals(n: number, std: number): Float32Array {
    const out = new Float32Array(n);
    for (let i = 0; i < n; ++i) out[i] = this.normal() * std;
    return out;
  }
}

import type { DType, Tensor } from '../../types/core';
import { ops } from '../ops';
import { tensor } from '../tensor';
import { expertName, fusedLocation } from './expert-layout';
import type { LazyTensors } from '../io/safetensors-lazy';
import { Parameter, ParameterKind } from './parameter';
import { numel } from '../shape';

export type Fill = 'normal' | 'ones' | 'zeros';

/** Where a model's parameters come from: random initialisation or a checkpoint. */
export interface ParameterSource {
  make(name: string, shape: number[], kind: ParameterKind, fill: Fill, dtype: DType, requiresGrad?: boolean): Parameter;
}

export class RandomInit implements ParameterSource {
  private readonly rng: Rng;
  constructor(seed: number, private readonly std: number) {
    this.rng = new Rng(seed);
  }

  make(name: string, shape: number[], kind: ParameterKind, fill: Fill, dtype: DType, requiresGrad = true): Parameter {
    const n = numel(shape);
    const data = fill === 'normal' ? this.rng.normals(n, this.std) : new Float32Array(n).fill(fill === 'ones' ? 1 : 0);
    return new Parameter(tensor(data, shape, { dtype }), { name, kind, requiresGrad });
  }
}

/**
 * Parameters from loaded checkpoint tensors (Hugging Face names; a stack of experts is
 * assembled from its per-expert matrices or cut from transformers v5's fused tensors). Shapes are
 * checked; the dtype is converted.
 */
export class CheckpointSource implements ParameterSource {
  constructor(private readonly tensors: LazyTensors) {}

  /** The named tensors in `dtype`, each checked against `shape`; read together, in one pass over the files. */
  private take(names: string[], shape: number[], dtype: DType): Tensor[] {
    for (const name of names) if (!this.tensors.names.has(name)) throw new Error(`MoonlightModel.load: ${this.tensors.where} has no tensor '${name}'`);
    const loaded = this.tensors.get(names, dtype);
    for (const name of names) {
      const t = loaded.get(name)!;
      if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
        for (const x of loaded.values()) x.dispose();
        throw new Error(`MoonlightModel.load: tensor '${name}' in ${this.tensors.where}: expected shape [${shape}], got [${t.shape}]`);
      }
    }
    return names.map((name) => loaded.get(name)!);
  }

  /** A stack [E, R, C] of the experts' matrices, from per-expert tensors or a fused one; no float copy in JS. */
  private experts(name: string, [E, R, C]: number[], dtype: DType): Tensor {
    const fused = fusedLocation(name);
    let flat: Tensor;
    if (!this.tensors.names.has(expertName(name, 0)) && this.tensors.names.has(fused.name)) {
      const [whole] = this.take([fused.name], fused.half === null ? [E, R, C] : [E, 2 * R, C], dtype) as [Tensor];
      if (fused.half === null) return whole;
      const rows = whole.reshape([E, 2 * R * C]);
      const halves = ops.split(rows, [R * C, R * C]);
      for (const t of [rows, whole]) t.dispose();
      flat = halves[fused.half]!;
      halves[1 - fused.half]!.dispose();
    } else {
      const pieces = this.take(Array.from({ length: E! }, (_, j) => expertName(name, j)), [R!, C!], dtype);
      const rows = pieces.map((p) => p.reshape([1, R! * C!]));
      flat = ops.concat(rows);
      for (const p of [...rows, ...pieces]) p.dispose();
    }
    const stack = flat.reshape([E!, R!, C!]);
    flat.dispose();
    return stack;
  }

  make(name: string, shape: number[], kind: ParameterKind, _fill: Fill, dtype: DType, requiresGrad = true): Parameter {
    const value = kind === 'experts' ? this.experts(name, shape, dtype) : this.take([name], shape, dtype)[0]!;
    return new Parameter(value, { name, kind, requiresGrad });
  }
}
