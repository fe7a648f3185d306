// moontrain's public API. Its shape is declared in types/index.d.ts (nn and optim through the
// declarations tsc generates from lib/); the checks below hold this implementation to them.
import type * as Api from '../types/core';
import { loadSafetensors, loadSafetensorsDir, readSafetensorsHeader, saveSafetensors } from './io/safetensors';
import * as nn from './nn';
import { ops } from './ops';
import * as optim from './optim';
import { debug, info, setNumThreads } from './runtime';
import { Tensor, tensor, tensorFromBytes } from './tensor';

export { Tensor, tensor, tensorFromBytes, ops, info, setNumThreads, debug, nn, optim };
export const io = { saveSafetensors, loadSafetensors, loadSafetensorsDir, readSafetensorsHeader };
export * as data from './data';
export * as train from './train';
export * as parallel from './parallel';

const conforms: {
  tensor: typeof Api.tensor;
  tensorFromBytes: typeof Api.tensorFromBytes;
  ops: typeof Api.ops;
  info: typeof Api.info;
  setNumThreads: typeof Api.setNumThreads;
  debug: typeof Api.debug;
  io: typeof Api.io;
} = { tensor, tensorFromBytes, ops, info, setNumThreads, debug, io };
void conforms;
