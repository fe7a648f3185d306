// Flat views of tensors for the optimizers: many tensors as one 1-D run of elements and back.
import type { Tensor } from '../../types/core';
import { ops } from '../ops';
import { numel } from '../shape';

/** A fresh 1-D tensor: the tensors' elements one after another (same dtype); disposes them if asked. */
export function concatFlat(ts: readonly Tensor[], dispose = true): Tensor {
  const flat = ts.map((t) => t.reshape([numel(t.shape)]));
  const joined = ops.concat(flat);
  for (const f of flat) f.dispose();
  if (dispose) for (const t of ts) t.dispose();
  return joined;
}

/** t's elements cut into fresh 1-D tensors of these sizes (t is kept). */
export function splitFlat(t: Tensor, sizes: readonly number[]): Tensor[] {
  const flat = t.reshape([numel(t.shape)]);
  const parts = ops.split(flat, sizes);
  flat.dispose();
  return parts;
}
