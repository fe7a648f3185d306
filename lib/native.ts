// Loads the compiled addon: build/Release (a local build) or prebuilds/ (node-gyp-build), or
// the file named by MOONTRAIN_ADDON (used for the sanitizer build).
import * as path from 'path';
import { findPackageRoot } from './package-root';
import type {
  CommBytes,
  CommTransport,
  MpiInfo,
  DType,
  Device,
  Info,
  Isa,
  Ops,
  Tensor,
} from '../types/core';

/** The native side of lib/parallel/comm.ts's Communicator (comm_binding.cc). */
export interface NativeCommunicator {
  readonly rank: number;
  readonly size: number;
  readonly jobName: string;
  readonly closed: boolean;
  readonly geometry: CommTransport;
  allGather(input: unknown, output: unknown): Tensor;
  allGatherV(input: unknown, counts: unknown, output: unknown): Tensor;
  reduceScatter(input: unknown, output: unknown): Tensor;
  reduceScatterV(input: unknown, counts: unknown, output: unknown): Tensor;
  allReduce(t: unknown): Tensor;
  broadcast(t: unknown, root: unknown): Tensor;
  barrier(): void;
  allReduceNumbers(values: unknown, op: unknown): Float64Array;
  bytes(): CommBytes;
  resetBytes(): void;
  abort(reason: unknown): void;
  close(): void;
  markExiting(code: number): void;
}

/** The ops as the addon exports them: every argument is validated natively, so any value goes in. */
export type NativeOps = { [K in keyof Ops]: (...args: unknown[]) => ReturnType<Ops[K]> };

/** One entry of the op list (native/op_list.h): its JS name and the backends that implement it. */
export interface NativeOpEntry {
  name: keyof Ops;
  backends: Device[];
}

export interface NativeAddon extends NativeOps {
  Tensor: { prototype: Tensor };
  tensor(data: unknown, shape: unknown, options: unknown): Tensor;
  tensorFromBytes(bytes: unknown, shape: unknown, dtype: unknown, options: unknown): Tensor;
  opList(): NativeOpEntry[];
  info(): Omit<Info, 'version' | 'mpi' | 'ops'>;
  setNumThreads(n: unknown): void;
  setIsa(isa: unknown): Isa;
  poisonAllocations(on: boolean): void;
  /** Sets whether new tensors are reported to V8 (returns the previous setting); no argument: the bytes reported now. */
  reportExternalMemory(on: boolean): boolean;
  reportExternalMemory(): number;
  liveTensors(): { count: number; bytes: number };
  NativeCommunicator: new (jobName: unknown, rank: unknown, size: unknown, options: unknown) => NativeCommunicator;
  commCleanupStale(jobName: unknown): boolean;
  commSetParentDeathSignal(signal: unknown): void;
  /** Bench only: a plain memcpy from src to dst (same byte size). */
  commCopyBytes(dst: unknown, src: unknown): void;
  mpiInfo(): MpiInfo;
  /** Bench only: the MPI library's own MPI_Allgather / MPI_Reduce_scatter_block on the world. */
  mpiLibraryAllGather(input: unknown, output: unknown): Tensor;
  mpiLibraryReduceScatterBlock(input: unknown, output: unknown): Tensor;
}

export type { DType, Device };

export const packageRoot = findPackageRoot(__dirname);

function findAddon(): string {
  const override = process.env.MOONTRAIN_ADDON;
  return override ? path.resolve(override) : (require('node-gyp-build') as { path(dir: string): string }).path(packageRoot);
}

let loadedFile = '';

function load(): NativeAddon {
  (require(path.join(packageRoot, 'scripts', 'cpu-floor.js')) as { assertCpuFloor(): void }).assertCpuFloor();
  loadedFile = findAddon();
  return require(loadedFile) as NativeAddon;
}

export const native: NativeAddon = load();

/** The file the addon was loaded from: MOONTRAIN_ADDON, else the one node-gyp-build found (build/Release, prebuilds/). */
export function addonFile(): string {
  return loadedFile;
}
