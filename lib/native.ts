// Loads the compiled addon: build/Release (a local build) or prebuilds/ (node-gyp-build), or
// the file named by MOONTRAIN_ADDON (used for the sanitizer build).
import * as path from 'path';
import { findPackageRoot } from './package-root';
import type {
  AttentionGrads,
  AttentionResult,
  CommBytes,
  CommTransport,
  MpiInfo,
  CrossEntropyResult,
  DType,
  Device,
  Info,
  Isa,
  MoePermuteResult,
  MoeRouteResult,
  MoeSeqAuxLossResult,
  MoeUnpermuteGrads,
  RmsNormGrads,
  RmsNormResult,
  SwigluGrads,
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

export interface NativeAddon {
  Tensor: { prototype: Tensor };
  tensor(data: unknown, shape: unknown, options: unknown): Tensor;
  matmul(a: unknown, b: unknown, options: unknown): Tensor;
  groupedMatmul(x: unknown, w: unknown, groupSizes: unknown, options: unknown): Tensor;
  groupedWeightGrad(x: unknown, dy: unknown, groupSizes: unknown): Tensor;
  newtonSchulz(x: unknown, options: unknown): Tensor;
  embedding(weight: unknown, ids: unknown): Tensor;
  embeddingBackward(dy: unknown, ids: unknown, vocabSize: unknown): Tensor;
  rmsNorm(x: unknown, weight: unknown, options: unknown): RmsNormResult;
  rmsNormBackward(dy: unknown, x: unknown, weight: unknown, rstd: unknown): RmsNormGrads;
  rope(x: unknown, positions: unknown, options: unknown): Tensor;
  attention(q: unknown, k: unknown, v: unknown, options: unknown): AttentionResult;
  attentionBackward(dout: unknown, q: unknown, k: unknown, v: unknown, out: unknown, lse: unknown, options: unknown): AttentionGrads;
  swiglu(gate: unknown, up: unknown): Tensor;
  swigluBackward(dy: unknown, gate: unknown, up: unknown): SwigluGrads;
  crossEntropy(logits: unknown, targets: unknown, options: unknown): CrossEntropyResult;
  crossEntropyBackward(logits: unknown, targets: unknown, lse: unknown, options: unknown): Tensor;
  moeRoute(logits: unknown, bias: unknown, options: unknown): MoeRouteResult;
  moeRouteBackward(dweights: unknown, scores: unknown, experts: unknown, options: unknown): Tensor;
  moePermute(x: unknown, experts: unknown, numExperts: unknown): MoePermuteResult;
  moeUnpermute(ys: unknown, order: unknown, weights: unknown): Tensor;
  moeUnpermuteBackward(dy: unknown, ys: unknown, order: unknown, weights: unknown): MoeUnpermuteGrads;
  moePermuteBackward(dxs: unknown, order: unknown, topK: unknown): Tensor;
  moeSeqAuxLoss(scores: unknown, experts: unknown, options: unknown): MoeSeqAuxLossResult;
  add(a: unknown, b: unknown, options: unknown): Tensor;
  scale(a: unknown, s: unknown): Tensor;
  scaleInPlace(t: unknown, s: unknown): void;
  sumSquares(t: unknown): number;
  copy(src: unknown, options: unknown): Tensor;
  assign(dst: unknown, src: unknown): void;
  split(x: unknown, sizes: unknown): Tensor[];
  concat(tensors: unknown): Tensor;
  adamwStep(param: unknown, grad: unknown, m: unknown, v: unknown, options: unknown): void;
  muonMomentum(m: unknown, grad: unknown, options: unknown): Tensor;
  muonApply(param: unknown, update: unknown, options: unknown): void;
  info(): Omit<Info, 'version' | 'mpi'>;
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

function load(): NativeAddon {
  (require(path.join(packageRoot, 'scripts', 'cpu-floor.js')) as { assertCpuFloor(): void }).assertCpuFloor();
  const override = process.env.MOONTRAIN_ADDON;
  if (override) return require(path.resolve(override)) as NativeAddon;
  return require('node-gyp-build')(packageRoot) as NativeAddon;
}

export const native: NativeAddon = load();
