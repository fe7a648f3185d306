// AdamW with torch.optim.AdamW semantics (bias-corrected moments, decoupled weight decay
// p ← p(1 − lr·wd)), on fp32 state.
import type { Tensor } from '../../types/core';
import type { Parameter } from '../nn/parameter';
import { ops } from '../ops';
import { ParamState, ParamStateDict } from './state';
import { untrackedMemory } from '../runtime';

export interface AdamWOptions {
  lr: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
}

export function checkNumber(owner: string, name: string, v: unknown, lo: number, hi = Infinity): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < lo || v > hi)
    throw new Error(`${owner}: option '${name}': expected a finite number in [${lo}, ${hi}], got ${JSON.stringify(v)}`);
  return v;
}

/** The AdamW update, used by AdamW, Muon's internal AdamW and the ZeRO-1 optimizer (as `adamwRule`). */
export class AdamWRule {
  readonly betas: [number, number];
  readonly eps: number;

  constructor(owner: string, betas: [number, number] = [0.9, 0.95], eps = 1e-8) {
    if (!Array.isArray(betas) || betas.length !== 2) throw new Error(`${owner}: option 'betas': expected [beta1, beta2], got ${JSON.stringify(betas)}`);
    checkNumber(owner, 'betas[0]', betas[0], 0, 0.999999);
    checkNumber(owner, 'betas[1]', betas[1], 0, 0.999999);
    this.betas = betas;
    this.eps = checkNumber(owner, 'eps', eps, 0);
  }

  state(p: Parameter): ParamState {
    return new ParamState(p, ['exp_avg', 'exp_avg_sq']);
  }

  /** master (f32) and the moments m, v in place, from grad, at optimizer step `step` (from 1). */
  update(master: Tensor, grad: Tensor, m: Tensor, v: Tensor, lr: number, weightDecay: number, step: number): void {
    ops.adamwStep(master, grad, m, v, { lr, beta1: this.betas[0], beta2: this.betas[1], eps: this.eps, weightDecay, step });
  }

  /** The update of one parameter's state, then its value from the master weights. */
  apply(s: ParamState, lr: number, weightDecay: number, step: number): void {
    const g = s.param.grad;
    if (!g) return;
    this.update(s.master, g, s.buffers.exp_avg, s.buffers.exp_avg_sq, lr, weightDecay, step);
    s.publish();
  }
}

export class AdamW {
  lr: number;
  readonly weightDecay: number;
  stepCount = 0;
  readonly adamwRule: AdamWRule;
  private readonly states: ParamState[];

  constructor(params: Parameter[], options: AdamWOptions) {
    this.lr = checkNumber('AdamW', 'lr', options?.lr, 0);
    this.weightDecay = checkNumber('AdamW', 'weightDecay', options.weightDecay ?? 0.1, 0);
    this.adamwRule = new AdamWRule('AdamW', options.betas, options.eps);
    this.states = params.filter((p) => p.requiresGrad).map((p) => this.adamwRule.state(p));
  }

  step(): void {
    // The optimizer disposes what it makes: no external-memory reports (see untrackedMemory).
    untrackedMemory(() => {
      this.stepCount++;
      for (const s of this.states) this.adamwRule.apply(s, this.lr, this.weightDecay, this.stepCount);
    });
  }

  zeroGrad(): void {
    for (const s of this.states) s.param.zeroGrad();
  }

  routing(): { name: string; optimizer: 'adamw' }[] {
    return this.states.map((s) => ({ name: s.param.name, optimizer: 'adamw' as const }));
  }

  stateDict(): { step: number; params: Record<string, ParamStateDict> } {
    return { step: this.stepCount, params: Object.fromEntries(this.states.map((s) => [s.param.name, s.toDict()])) };
  }

  loadStateDict(d: { step: number; params: Record<string, ParamStateDict> }): void {
    for (const s of this.states) {
      const entry = d.params?.[s.param.name];
      if (!entry) throw new Error(`AdamW.loadStateDict: no state for parameter ${s.param.name}`);
      s.load(entry, 'AdamW.loadStateDict');
    }
    this.stepCount = d.step;
  }

  dispose(): void {
    for (const s of this.states) s.dispose();
  }
}
