// What the native side runs on, and the knobs for threads, ISA and debugging.
import type { Info, Isa } from '../types/core';
import { native, packageRoot } from './native';
import { opList } from './ops';

const version: string = require(`${packageRoot}/package.json`).version;

export function info(): Info {
  const i = { version, ...native.info(), ops: opList() as Info['ops'] } as Info;
  // Looked up when read (JSON.stringify and spreading read it): finding MPI dlopens it, which a
  // process that only wants the ISA should not pay for.
  Object.defineProperty(i, 'mpi', { enumerable: true, get: () => native.mpiInfo() });
  return i;
}

export function setNumThreads(n: number): void {
  native.setNumThreads(n);
}

export const debug = {
  poisonAllocations(on: boolean): void {
    native.poisonAllocations(on);
  },
  setIsa(isa: Isa): Isa {
    return native.setIsa(isa);
  },
  liveTensors(): { count: number; bytes: number } {
    return native.liveTensors();
  },
};

/**
 * Runs fn with new tensors not reported to V8 as external memory (internal: for the model and the
 * optimizers, which dispose every intermediate they make; see AddonData in tensor_object.h).
 */
export function untrackedMemory<T>(fn: () => T): T {
  const previous = native.reportExternalMemory(false);
  try {
    return fn();
  } finally {
    native.reportExternalMemory(previous);
  }
}
