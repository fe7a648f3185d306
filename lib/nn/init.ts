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
import { tensor } from '../tensor';
import { expertName, fusedLocation, unfuseHalf } from './expert-layout';
import { Parameter, ParameterKind } from './parameter';

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
    const n = shape.reduce((a, b) => a * b, 1);
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
  readonly used = new Set<string>();
  constructor(private readonly tensors: Map<string, Tensor>, private readonly where: string) {}

  private take(name: string, shape: number[]): Float32Array {
    const t = this.tensors.get(name);
    if (!t) throw new Error(`MoonlightModel.load: ${this.where} has no tensor '${name}'`);
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i]))
      throw new Error(`MoonlightModel.load: tensor '${name}' in ${this.where}: expected shape [${shape}], got [${t.shape}]`);
    this.used.add(name);
    return t.toFloat32Array();
  }

  make(name: string, shape: number[], kind: ParameterKind, _fill: Fill, dtype: DType, requiresGrad = true): Parameter {
    let data: Float32Array;
    if (kind === 'experts') {
      const [E, R, C] = shape as [number, number, number];
      const fused = fusedLocation(name);
      if (!this.tensors.has(expertName(name, 0)) && this.tensors.has(fused.name)) {
        data = fused.half === null ? this.take(fused.name, shape) : unfuseHalf(this.take(fused.name, [E, 2 * R, C]), E, R, C, fused.half);
      } else {
        data = new Float32Array(E * R * C);
        for (let j = 0; j < E; ++j) data.set(this.take(expertName(name, j), [R, C]), j * R * C);
      }
    } else {
      data = this.take(name, shape);
    }
    return new Parameter(tensor(data, shape, { dtype }), { name, kind, requiresGrad });
  }
}
