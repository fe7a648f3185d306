// Loads the compiled addon: build/Release (a local build) or prebuilds/ (node-gyp-build), or
// the file named by MOONTRAIN_ADDON (used for the sanitizer build).
import * as path from 'path';
import type { DType, Device, Info, Isa, Tensor } from '../types';

export interface NativeAddon {
  Tensor: { prototype: Tensor };
  tensor(data: unknown, shape: unknown, options: unknown): Tensor;
  matmul(a: unknown, b: unknown, options: unknown): Tensor;
  groupedMatmul(x: unknown, w: unknown, groupSizes: unknown, options: unknown): Tensor;
  groupedWeightGrad(x: unknown, dy: unknown, groupSizes: unknown): Tensor;
  newtonSchulz(x: unknown, options: unknown): Tensor;
  info(): Omit<Info, 'version'>;
  setNumThreads(n: unknown): void;
  setIsa(isa: unknown): Isa;
  poisonAllocations(on: boolean): void;
}

export type { DType, Device };

export const packageRoot = path.resolve(__dirname, __dirname.includes(`${path.sep}dist${path.sep}`) ? '../..' : '..');

function load(): NativeAddon {
  const override = process.env.MOONTRAIN_ADDON;
  if (override) return require(path.resolve(override)) as NativeAddon;
  return require('node-gyp-build')(packageRoot) as NativeAddon;
}

export const native: NativeAddon = load();
