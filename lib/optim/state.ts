// Per-parameter optimizer state: fp32 master weights (a separate copy when the parameter is
// stored in bf16) and named fp32 buffers, with conversion to and from plain arrays for
// checkpoints.
import type { Tensor } from '../../types/core';
import type { Parameter } from '../nn/parameter';
import { ops } from '../ops';
import { numel } from '../shape';
import { tensor } from '../tensor';

export interface ParamStateDict {
  master?: Float32Array;
  buffers: Record<string, Float32Array>;
}

export class ParamState {
  /** fp32 weights the update applies to; the parameter itself when it is fp32. */
  readonly master: Tensor;
  readonly buffers: Record<string, Tensor> = {};

  constructor(readonly param: Parameter, bufferNames: string[]) {
    this.master = param.value.dtype === 'f32' ? param.value : ops.copy(param.value, { dtype: 'f32' });
    const n = numel(param.value.shape);
    for (const b of bufferNames) this.buffers[b] = tensor(new Float32Array(n), param.value.shape, { device: param.value.device });
  }

  get separateMaster(): boolean {
    return this.master !== this.param.value;
  }

  /** Writes the master weights back into a bf16 parameter (rounding to nearest even). */
  publish(): void {
    if (this.separateMaster) ops.assign(this.param.value, this.master);
  }

  toDict(): ParamStateDict {
    const buffers: Record<string, Float32Array> = {};
    for (const [k, t] of Object.entries(this.buffers)) buffers[k] = t.toFloat32Array();
    return this.separateMaster ? { master: this.master.toFloat32Array(), buffers } : { buffers };
  }

  load(d: ParamStateDict, where: string): void {
    const shape = this.param.value.shape;
    const n = numel(shape);
    const put = (dst: Tensor, src: Float32Array | undefined, what: string) => {
      if (!(src instanceof Float32Array) || src.length !== n)
        throw new Error(`${where}: state '${what}' of ${this.param.name}: expected a Float32Array of ${n} values, got ${src instanceof Float32Array ? src.length : typeof src}`);
      const t = tensor(src, shape, { device: dst.device });
      ops.assign(dst, t);
      t.dispose();
    };
    for (const k of Object.keys(this.buffers)) put(this.buffers[k], d.buffers?.[k], k);
    if (this.separateMaster && d.master) put(this.master, d.master, 'master');
    if (!this.separateMaster && d.master) put(this.master, d.master, 'master');
    this.publish();
  }

  dispose(): void {
    if (this.separateMaster) this.master.dispose();
    for (const t of Object.values(this.buffers)) t.dispose();
  }
}
