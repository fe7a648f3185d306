// Tensor: the native class, with [Symbol.dispose] so `using t = tensor(...)` frees at scope end.
import type { Device, Tensor as TensorType, TensorDType, TensorOptions } from '../types/core';
import { native } from './native';

const proto = native.Tensor.prototype as TensorType & { [Symbol.dispose]?: () => void };
if (typeof Symbol.dispose === 'symbol' && !proto[Symbol.dispose]) {
  Object.defineProperty(proto, Symbol.dispose, {
    value: function dispose(this: TensorType) {
      this.dispose();
    },
  });
}

export const Tensor = native.Tensor as unknown as typeof TensorType;
export type Tensor = TensorType;

export function tensor(data: Float32Array | Int32Array | number[], shape: readonly number[], options?: TensorOptions): TensorType {
  return native.tensor(data, shape, options);
}

export function tensorFromBytes(bytes: ArrayBufferView | ArrayBuffer, shape: readonly number[], dtype: TensorDType, options?: { device?: Device }): TensorType {
  return native.tensorFromBytes(bytes, shape, dtype, options);
}

/**
 * Waits for the work queued on t's device: a copy of one element to the host is synchronous. For
 * timing GPU work from JS; nothing to wait for on the CPU.
 */
export function synchronize(t: TensorType): void {
  if (t.device === 'cpu' || t.disposed) return;
  const flat = t.reshape([t.shape.reduce((a, b) => a * b, 1)]);
  const one = flat.narrow(0, 0, Math.min(1, flat.shape[0]));
  one.toFloat32Array();
  one.dispose();
  flat.dispose();
}
