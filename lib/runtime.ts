// What the native side runs on, and the knobs for threads, ISA and debugging.
import type { Info, Isa } from '../types/core';
import { native, packageRoot } from './native';

const version: string = require(`${packageRoot}/package.json`).version;

export function info(): Info {
  return { version, ...native.info() };
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
