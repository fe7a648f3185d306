// Muon as Moonlight uses it (docs/model-and-optimizers.md): M ← μM + g; Newton–Schulz of the Nesterov input
// g + μM (of M without Nesterov); W ← W(1 − lr·wd) − lr·scale·O with scale 0.2·√max(A, B).
// Hidden matrices are orthogonalised whole; a stack of expert matrices [E, A, B] one expert at a
// time in one batched call. Everything else goes to the internal AdamW (same lr and weight
// decay), decided by the parameter's kind.
import type { Tensor } from '../../types/core';
import type { Parameter } from '../nn/parameter';
import { reshaped } from '../nn/saved-tensors';
import { ops } from '../ops';
import { AdamWRule, checkNumber } from './adamw';
import { ParamState, ParamStateDict } from './state';
import { untrackedMemory } from '../runtime';

export type MuonScale = 'moonlight' | 'keller' | 'none';
type Triple = [number, number, number];

export interface MuonOptions {
  lr: number;
  weightDecay?: number;
  momentum?: number;
  nesterov?: boolean;
  nsSteps?: number;
  nsCoefficients?: Triple | Triple[];
  scale?: MuonScale;
  adamw?: { betas?: [number, number]; eps?: number };
}

/** The per-matrix update scale for a matrix [A, B] = [out, in] (docs/model-and-optimizers.md). */
export function muonScale(kind: MuonScale, rows: number, cols: number): number {
  if (kind === 'moonlight') return 0.2 * Math.sqrt(Math.max(rows, cols));
  if (kind === 'keller') return Math.sqrt(Math.max(1, rows / cols));
  return 1;
}

export function isMuonParameter(p: Parameter): boolean {
  return p.requiresGrad && (p.kind === 'matrix' || p.kind === 'experts');
}

export class Muon {
  lr: number;
  readonly weightDecay: number;
  readonly momentum: number;
  readonly nesterov: boolean;
  readonly nsSteps: number;
  readonly nsCoefficients?: Triple | Triple[];
  readonly scale: MuonScale;
  stepCount = 0;
  readonly adamwRule: AdamWRule;
  private readonly muonStates: ParamState[] = [];
  private readonly adamStates: ParamState[] = [];

  constructor(params: Parameter[], options: MuonOptions) {
    const o = 'Muon';
    this.lr = checkNumber(o, 'lr', options?.lr, 0);
    this.weightDecay = checkNumber(o, 'weightDecay', options.weightDecay ?? 0.1, 0);
    this.momentum = checkNumber(o, 'momentum', options.momentum ?? 0.95, 0, 1);
    this.nesterov = options.nesterov ?? true;
    this.nsSteps = checkNumber(o, 'nsSteps', options.nsSteps ?? 5, 0, 100);
    this.nsCoefficients = options.nsCoefficients;
    this.scale = options.scale ?? 'moonlight';
    if (!['moonlight', 'keller', 'none'].includes(this.scale))
      throw new Error(`Muon: option 'scale': expected 'moonlight', 'keller' or 'none', got ${JSON.stringify(this.scale)}`);
    this.adamwRule = new AdamWRule(o, options.adamw?.betas, options.adamw?.eps);
    for (const p of params) {
      if (!p.requiresGrad) continue;
      if (isMuonParameter(p)) this.muonStates.push(new ParamState(p, ['momentum_buffer']));
      else this.adamStates.push(this.adamwRule.state(p));
    }
  }

  step(): void {
    // The optimizer disposes what it makes: no external-memory reports (see untrackedMemory).
    untrackedMemory(() => {
      this.stepCount++;
      // Same-shape matrices are orthogonalised together: one batched Newton–Schulz call per shape
      // (every expert of a layer, and the same projection across layers).
      const groups = new Map<string, { states: ParamState[]; updates: Tensor[] }>();
      for (const s of this.muonStates) {
        const g = s.param.grad;
        if (!g) continue;
        const u = ops.muonMomentum(s.buffers.momentum_buffer, g, { momentum: this.momentum, nesterov: this.nesterov });
        const shape = s.param.value.shape;
        const key = `${shape.slice(-2).join('x')}:${s.param.value.dtype}`;
        const group = groups.get(key) ?? { states: [], updates: [] };
        group.states.push(s);
        group.updates.push(u);
        groups.set(key, group);
      }
      for (const { states, updates } of groups.values()) this.orthogonalizeAndApply(states, updates);
      for (const s of this.adamStates) this.adamwRule.apply(s, this.lr, this.weightDecay, this.stepCount);
    });
  }

  private orthogonalizeAndApply(states: ParamState[], updates: Tensor[]): void {
    const [rows, cols] = states[0].param.value.shape.slice(-2);
    const counts = updates.map((u) => u.shape.reduce((a, b) => a * b, 1));
    const total = counts.reduce((a, b) => a + b, 0);
    // Stack every update as one [n, rows, cols] batch (flat concatenation of contiguous buffers).
    const flat = updates.map((u) => reshaped(u, [1, u.shape.reduce((a, b) => a * b, 1)]));
    const stacked = flat.length === 1 ? flat[0] : ops.concat(flat);
    if (flat.length > 1) for (const f of flat) f.dispose();
    const batch = reshaped(stacked, [total / (rows * cols), rows, cols]);
    // Newton–Schulz runs in the parameters' precision (bf16 in bf16 mode, as Moonlight does).
    const input = states[0].param.value.dtype === 'bf16' ? ops.copy(batch, { dtype: 'bf16' }) : batch;
    const coefficients = this.nsCoefficients;
    const o = ops.newtonSchulz(input, coefficients ? { steps: this.nsSteps, coefficients } : { steps: this.nsSteps });
    if (input !== batch) input.dispose();
    batch.dispose();
    const oFlat = reshaped(o, [1, total]);
    const parts = states.length === 1 ? [oFlat] : ops.split(oFlat, counts);
    if (states.length > 1) oFlat.dispose();
    const scale = muonScale(this.scale, rows, cols);
    states.forEach((s, i) => {
      const part = reshaped(parts[i], s.param.value.shape);
      ops.muonApply(s.master, part, { lr: this.lr, weightDecay: this.weightDecay, scale });
      part.dispose();
      s.publish();
    });
  }

  zeroGrad(): void {
    for (const s of [...this.muonStates, ...this.adamStates]) s.param.zeroGrad();
  }

  /** Which optimizer updates each parameter, with Muon's scale for matrices. */
  routing(): { name: string; shape: number[]; optimizer: 'muon' | 'adamw'; scale?: number }[] {
    return [
      ...this.muonStates.map((s) => {
        const shape = s.param.value.shape;
        const [rows, cols] = shape.slice(-2);
        return { name: s.param.name, shape, optimizer: 'muon' as const, scale: muonScale(this.scale, rows, cols) };
      }),
      ...this.adamStates.map((s) => ({ name: s.param.name, shape: s.param.value.shape, optimizer: 'adamw' as const })),
    ];
  }

  stateDict(): { step: number; params: Record<string, ParamStateDict> } {
    const all = [...this.muonStates, ...this.adamStates];
    return { step: this.stepCount, params: Object.fromEntries(all.map((s) => [s.param.name, s.toDict()])) };
  }

  loadStateDict(d: { step: number; params: Record<string, ParamStateDict> }): void {
    for (const s of [...this.muonStates, ...this.adamStates]) {
      const entry = d.params?.[s.param.name];
      if (!entry) throw new Error(`Muon.loadStateDict: no state for parameter ${s.param.name}`);
      s.load(entry, 'Muon.loadStateDict');
    }
    this.stepCount = d.step;
  }

  dispose(): void {
    for (const s of [...this.muonStates, ...this.adamStates]) s.dispose();
  }
}
