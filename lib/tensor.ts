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
