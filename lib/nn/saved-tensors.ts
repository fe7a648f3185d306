// Tensors a layer keeps from forward for its backward, freed together.
import type { Tensor } from '../../types/core';

export class Saved {
  private readonly tensors: Tensor[] = [];

  keep<T extends Tensor>(t: T): T {
    this.tensors.push(t);
    return t;
  }

  free(): void {
    for (const t of this.tensors) t.dispose();
    this.tensors.length = 0;
  }

  /** Disposes one kept tensor now, before the others. */
  drop(t: Tensor): void {
    const i = this.tensors.indexOf(t);
    if (i >= 0) this.tensors.splice(i, 1);
    t.dispose();
  }
}

/** Disposes every argument (skipping null/undefined). */
export function free(...ts: (Tensor | null | undefined)[]): void {
  for (const t of ts) t?.dispose();
}

/** A view of t with another shape; t itself is disposed (the memory lives on in the view). */
export function reshaped(t: Tensor, shape: readonly number[]): Tensor {
  const v = t.reshape(shape);
  t.dispose();
  return v;
}
