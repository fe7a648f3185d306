// Public declarations of moontrain. lib/ implements against these (lib/index.ts checks it).

export type DType = 'f32' | 'bf16';
export type Device = 'cpu' | 'cuda';
export type Isa = 'amx' | 'avx512bf16' | 'avx512' | 'avx2' | 'scalar';

export interface TensorOptions {
  /** Storage type; bf16 rounds to nearest even on the way in. Default 'f32'. */
  dtype?: DType;
  /** Default 'cpu'. */
  device?: Device;
}

/** A contiguous row-major tensor owned by native memory. Free it with dispose() (or `using`). */
export declare class Tensor {
  /** Tensors are made with tensor(); calling the constructor throws. */
  private constructor();
  /** A fresh copy of the dimensions. */
  readonly shape: number[];
  readonly dtype: DType;
  readonly device: Device;
  /** True once dispose() has freed the memory. */
  readonly disposed: boolean;
  /** Copies the elements out as float32 (bf16 widened exactly). */
  toFloat32Array(): Float32Array;
  /** Frees the native memory now (once every view of it is disposed); idempotent. Later use throws. */
  dispose(): void;
  /** A view with another shape of the same element count, sharing the memory (no copy). */
  reshape(shape: readonly number[]): Tensor;
  [Symbol.dispose](): void;
}

/** Creates a tensor from float data and a shape of rank 1 to 4. */
export declare function tensor(data: Float32Array | number[], shape: readonly number[], options?: TensorOptions): Tensor;

export type GroupSizes = readonly number[] | Int32Array;
export type NewtonSchulzCoefficients = readonly [number, number, number];

export interface NewtonSchulzOptions {
  /** Iterations, 0 to 100. Default 5, or the length of a per-step coefficient list. */
  steps?: number;
  /** (a, b, c) for every step, or one triple per step. Default (3.4445, -4.7750, 2.0315). */
  coefficients?: NewtonSchulzCoefficients | readonly NewtonSchulzCoefficients[];
  /** Added to the Frobenius norm before dividing. Default 1e-7. */
  eps?: number;
}

export interface Ops {
  /** op(a)[m,k] · op(b)[k,n] -> [m,n]; a and b share a dtype, the output has it (fp32 accumulation). */
  matmul(a: Tensor, b: Tensor, options?: { transA?: boolean; transB?: boolean }): Tensor;
  /** x [T,K] with rows sorted by group, w [E,K,N] ([E,N,K] with transB) -> [T,N]; group e is x_e · w[e]. */
  groupedMatmul(x: Tensor, w: Tensor, groupSizes: GroupSizes, options?: { transB?: boolean }): Tensor;
  /** x [T,K], dy [T,N] -> [E,K,N] with out[e] = x_eᵀ · dy_e (zeros for an empty group). */
  groupedWeightGrad(x: Tensor, dy: Tensor, groupSizes: GroupSizes): Tensor;
  /** Muon's Newton–Schulz orthogonalisation of x [m,n] or of each matrix of x [B,m,n]. */
  newtonSchulz(x: Tensor, options?: NewtonSchulzOptions): Tensor;
}
export declare const ops: Ops;

export interface CudaDeviceInfo {
  name: string;
  memoryBytes: number;
  computeCapability: string;
}

export interface Info {
  version: string;
  /** The instruction-set path the CPU kernels use now. */
  isa: Isa;
  /** Every path this CPU supports, lowest first. */
  isaAvailable: Isa[];
  threads: number;
  cuda: {
    compiled: boolean;
    available: boolean;
    reason?: string;
    runtimeVersion: number;
    driverVersion: number;
    devices: CudaDeviceInfo[];
  };
}
export declare function info(): Info;

/** Threads for native work (1 to 1024). Results do not depend on it. */
export declare function setNumThreads(n: number): void;

/** Controls for tests and benchmarks. */
export declare const debug: {
  /** Fill every new native buffer with NaN so an op that skips an element is caught. */
  poisonAllocations(on: boolean): void;
  /** Lower the ISA path (clamped to what the CPU has); returns the path now in use. */
  setIsa(isa: Isa): Isa;
};
