// Muon as Moonlight uses it (docs/model-and-optimizers.md): M ← μM + g; Newton–Schulz of the Nesterov input
// g + μM (of M without Nesterov); W ← W(1 − lr·wd) − lr·scale·O with scale 0.2·√max(A, B).
// Hidden matrices are orthogonalised whole; a stack of expert matrices [E, A, B] one expert at a
// time in one batched call. Everything else goes to the internal AdamW (same lr and weight
// decay), decided by the parameter's kind.
import type { DType, Tensor } from '../../types/core';
import type { Parameter } from '../nn/parameter';
import { reshaped } from '../nn/saved-tensors';
import { ops } from '../ops';
import { AdamWRule, checkNumber } from './adamw';
import { concatFlat, splitFlat } from './flat';
import { numel } from '../shape';
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

/**
 * The per-matrix Muon update: momentum and the Nesterov input, Newton–Schulz of same-shape
 * matrices in one batch, the scale and decoupled weight decay. Used by Muon and by the ZeRO-1
 * optimizer (lib/parallel/zero.ts), which differ only in where the matrices come from.
 */
export class MuonRule {
  constructor(
    readonly momentum: number,
    readonly nesterov: boolean,
    readonly nsSteps: number,
    readonly nsCoefficients: Triple | Triple[] | undefined,
    readonly scale: MuonScale,
  ) {}

  /** buffer = μ·buffer + grad (in place); returns the matrix to orthogonalise (f32). */
  momentumInput(buffer: Tensor, grad: Tensor): Tensor {
    return ops.muonMomentum(buffer, grad, { momentum: this.momentum, nesterov: this.nesterov });
  }

  /**
   * Newton–Schulz of every [rows, cols] matrix in `inputs` (each any number of whole matrices, any
   * shape) as one batch in `dtype` (the parameters' precision, bf16 in bf16 mode as Moonlight
   * does); returns each input's result as a fresh 1-D tensor. The inputs are kept.
   */
  orthogonalize(inputs: readonly Tensor[], rows: number, cols: number, dtype: DType): Tensor[] {
    const sizes = inputs.map((t) => numel(t.shape));
    const joined = concatFlat(inputs, false);
    const input = joined.dtype === dtype ? joined : ops.copy(joined, { dtype });
    if (input !== joined) joined.dispose();
    const batch = reshaped(input, [numel(input.shape) / (rows * cols), rows, cols]);
    const coefficients = this.nsCoefficients;
    const o = ops.newtonSchulz(batch, coefficients ? { steps: this.nsSteps, coefficients } : { steps: this.nsSteps });
    batch.dispose();
    const parts = inputs.length === 1 ? [reshaped(o, [sizes[0]])] : splitFlat(o, sizes);
    if (inputs.length > 1) o.dispose();
    return parts;
  }

  /** master (f32, in place) = master·(1 − lr·wd) − lr·scale·update for matrices [rows, cols]. */
  apply(master: Tensor, update: Tensor, rows: number, cols: number, lr: number, weightDecay: number): void {
    ops.muonApply(master, update, { lr, weightDecay, scale: muonScale(this.scale, rows, cols) });
  }
}

export class Muon {
  lr: number;
  readonly weightDecay: number;
  stepCount = 0;
  readonly muonRule: MuonRule;
  readonly adamwRule: AdamWRule;
  private readonly muonStates: ParamState[] = [];
  private readonly adamStates: ParamState[] = [];

  constructor(params: Parameter[], options: MuonOptions) {
    const o = 'Muon';
    this.lr = checkNumber(o, 'lr', options?.lr, 0);
    this.weightDecay = checkNumber(o, 'weightDecay', options.weightDecay ?? 0.1, 0);
    const momentum = checkNumber(o, 'momentum', options.momentum ?? 0.95, 0, 1);
    const nsSteps = checkNumber(o, 'nsSteps', options.nsSteps ?? 5, 0, 100);
    const scale = options.scale ?? 'moonlight';
    if (!['moonlight', 'keller', 'none'].includes(scale))
      throw new Error(`Muon: option 'scale': expected 'moonlight', 'keller' or 'none', got ${JSON.stringify(scale)}`);
    this.muonRule = new MuonRule(momentum, options.nesterov ?? true, nsSteps, options.nsCoefficients, scale);
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
        const u = this.muonRule.momentumInput(s.buffers.momentum_buffer, g);
        const shape = s.param.value.shape;
        const key = `${shape.slice(-2).join('x')}:${s.param.value.dtype}`;
        const group = groups.get(key) ?? { states: [], updates: [] };
        group.states.push(s);
        group.updates.push(u);
        groups.set(key, group);
      }
      for (const { states, updates } of groups.values()) {
        const { shape, dtype } = states[0].param.value;
        const [rows, cols] = shape.slice(-2);
        const orthogonal = this.muonRule.orthogonalize(updates, rows, cols, dtype as DType);
        for (const u of updates) u.dispose();
        states.forEach((s, i) => {
          const part = reshaped(orthogonal[i], s.param.value.shape);
          this.muonRule.apply(s.master, part, rows, cols, this.lr, this.weightDecay);
          part.dispose();
          s.publish();
        });
      }
      for (const s of this.adamStates) this.adamwRule.apply(s, this.lr, this.weightDecay, this.stepCount);
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
        return { name: s.param.name, shape, optimizer: 'muon' as const, scale: muonScale(this.muonRule.scale, rows, cols) };
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
