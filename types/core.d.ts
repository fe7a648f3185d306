// Public declarations of moontrain's core: tensors, ops, io, runtime. lib/ implements against
// these (lib/index.ts checks it); types/index.d.ts adds nn and optim.

/** The dtypes of values the arithmetic ops take. */
export type DType = 'f32' | 'bf16';
/** Every tensor dtype: the value dtypes and i32, the dtype of index tensors (ids, expert ids, orders, sizes). */
export type TensorDType = DType | 'i32';
export type Device = 'cpu' | 'cuda';
export type Isa = 'amx' | 'avx512bf16' | 'avx512' | 'avx2' | 'scalar';

export interface TensorOptions {
  /** Storage type; bf16 rounds to nearest even on the way in; i32 takes integers. Default 'f32'. */
  dtype?: TensorDType;
  /** Default 'cpu'. */
  device?: Device;
}

/** A contiguous row-major tensor owned by native memory. Free it with dispose() (or `using`). */
export declare class Tensor {
  /** Tensors are made with tensor(); calling the constructor throws. */
  private constructor();
  /** A fresh copy of the dimensions. */
  readonly shape: number[];
  readonly dtype: TensorDType;
  readonly device: Device;
  /** True once dispose() has freed the memory. */
  readonly disposed: boolean;
  /** Copies the elements out as float32 (bf16 widened exactly). */
  toFloat32Array(): Float32Array;
  /** Copies the elements of an i32 tensor out. */
  toInt32Array(): Int32Array;
  /** Copies the raw elements out (little-endian f32, bf16 or i32: no conversion); tensorFromBytes reads them back. */
  toBytes(): Uint8Array;
  /** A copy on `device` (a tensor sharing this one's memory when it is there already). */
  to(device: Device): Tensor;
  /** Frees the native memory now (once every view of it is disposed); idempotent. Later use throws. */
  dispose(): void;
  /** A view with another shape of the same element count, sharing the memory (no copy). */
  reshape(shape: readonly number[]): Tensor;
  /**
   * A view of `length` entries from `start` along `axis` (negative counts from the end), sharing
   * the memory. The window must be contiguous: `axis` is the first dimension whose size is not 1
   * (rows of a matrix, matrices of a batch); `split` copies any other window.
   */
  narrow(axis: number, start: number, length: number): Tensor;
  [Symbol.dispose](): void;
}

/** Creates a tensor from data (Float32Array or number[]; Int32Array or integers for i32) and a shape of rank 1 to 4. */
export declare function tensor(data: Float32Array | Int32Array | number[], shape: readonly number[], options?: TensorOptions): Tensor;

/** A tensor of `shape` and `dtype` from its raw little-endian elements (as toBytes gives them), copied. */
export declare function tensorFromBytes(
  bytes: ArrayBufferView | ArrayBuffer,
  shape: readonly number[],
  dtype: TensorDType,
  options?: { device?: Device },
): Tensor;

/**
 * An index argument: an i32 tensor (as the MoE ops return them; one an op made is not checked
 * again) or an Int32Array (checked entry by entry).
 */
export type Indices = Int32Array | Tensor;
export type GroupSizes = readonly number[] | Indices;
export type NewtonSchulzCoefficients = readonly [number, number, number];

export interface NewtonSchulzOptions {
  /** Iterations, 0 to 100. Default 5, or the length of a per-step coefficient list. */
  steps?: number;
  /** (a, b, c) for every step, or one triple per step. Default (3.4445, -4.7750, 2.0315). */
  coefficients?: NewtonSchulzCoefficients | readonly NewtonSchulzCoefficients[];
  /** Added to the Frobenius norm before dividing. Default 1e-7. */
  eps?: number;
}

// ---------------------------------------------------------------------------------------------
// Neural-network ops: results and options
// ---------------------------------------------------------------------------------------------

export interface RmsNormResult {
  /** x * rstd * weight, [T,D] in x's dtype. */
  y: Tensor;
  /** 1/sqrt(mean(x^2) + eps) per row, [T] f32. */
  rstd: Tensor;
}
export interface RmsNormGrads {
  dx: Tensor;
  /** [D] in weight's dtype; each column summed over the rows in order. */
  dweight: Tensor;
}

export interface RopeOptions {
  /** Base of the frequencies inv_freq[i] = theta^(-2i/ropeDim). Default 10000; must be > 0. */
  theta?: number;
  /**
   * Rotate only the last ropeDim elements of the last dimension d (even, 2..d; frequencies
   * theta^(-2i/ropeDim)), copying the first d - ropeDim: MLA's [nope | rope] query heads in one
   * pass. Default d.
   */
  ropeDim?: number;
  /** true: pairs (x[2i], x[2i+1]) (DeepSeek-V3, GPT-J); false: (x[i], x[i+d/2]) (rotate-half, Llama). Default true. */
  interleave?: boolean;
  /** Rotate by -angle: the backward of the forward rotation. Default false. */
  inverse?: boolean;
}

export interface AttentionOptions {
  /** Multiplies q·k. Default 1/sqrt(dk). */
  scale?: number;
  /** Query i sees keys 0..i only. Default true. */
  causal?: boolean;
}
export interface AttentionForwardOptions extends AttentionOptions {
  /**
   * Also return the probabilities, [B,H,S,S] in q's dtype, for attentionBackward to reuse instead
   * of recomputing Q·Kᵀ and the exponentials: B·H·S² elements, so for short sequences.
   */
  keepProbs?: boolean;
}
export interface AttentionBackwardOptions extends AttentionOptions {
  /** The forward's `probs` (keepProbs), or omitted to recompute them from q, k and lse. */
  probs?: Tensor;
}
export interface AttentionResult {
  /** [B,S,H,dv] in q's dtype. */
  out: Tensor;
  /** log-sum-exp of each query row's scaled scores, [B,H,S] f32 (the backward needs it). */
  lse: Tensor;
  /** With keepProbs: softmax(scale·q·kᵀ) [B,H,S,S] in q's dtype (zeros above the diagonal when causal). */
  probs?: Tensor;
}
export interface AttentionGrads {
  dq: Tensor;
  dk: Tensor;
  dv: Tensor;
}

export interface SwigluGrads {
  dgate: Tensor;
  dup: Tensor;
}

export interface CrossEntropyResult {
  /** Mean of lse - logit[target] over the rows whose target is >= 0 (0 when there are none). */
  loss: number;
  /** Rows with a target >= 0. */
  count: number;
  /** log-sum-exp of every row, [T] f32 (the backward needs it). */
  lse: Tensor;
  /** With options.gradInPlace: the logits tensor, now holding the gradient of the mean loss. */
  dlogits?: Tensor;
}

export interface MoeRouteOptions {
  /** Experts per token, 1 to topkGroup * E/nGroup. Required. */
  topK: number;
  /** Divide the chosen scores by their sum (+1e-20). Default true. */
  normTopk?: boolean;
  /** Multiplies the weights (routed_scaling_factor). Default 1. */
  scalingFactor?: number;
  /** Expert groups (must divide E). Default 1. */
  nGroup?: number;
  /** Groups kept per token, 1 to nGroup. Default 1. */
  topkGroup?: number;
}
export interface MoeRouteResult {
  /** [T*topK] chosen experts, per token in descending order of score + bias (ties: lower index). */
  experts: Tensor;
  /** [T,topK] f32 gate weights (chosen scores without bias, normalised, scaled). */
  weights: Tensor;
  /** [T,E] f32 sigmoid(logits). */
  scores: Tensor;
}
export interface MoePermuteResult {
  /** [T*topK, D] rows of x sorted by expert, then token, then slot. */
  xs: Tensor;
  /** [E] rows per expert (groupSizes for groupedMatmul). */
  groupSizes: Tensor;
  /** [T*topK]: order[r] = t*topK + slot of sorted row r. */
  order: Tensor;
}
export interface MoeUnpermuteGrads {
  /** [T*topK, D] in ys's dtype. */
  dys: Tensor;
  /** [T,topK] f32. */
  dweights: Tensor;
}
export interface MoeSeqAuxLossOptions {
  /** Sequences B. Required. */
  batch: number;
  /** Tokens per sequence S. Required. */
  seqLen: number;
  /** Experts per token. Required. */
  topK: number;
  /** Loss coefficient. Required. */
  alpha: number;
}
export interface MoeSeqAuxLossResult {
  loss: number;
  /** d loss / d scores, [B*S,E] f32 (the expert counts f treated as constants). */
  dscores: Tensor;
}

export interface AdamWOptions {
  /** Learning rate, >= 0. Required. */
  lr: number;
  /** Default 0.9, in [0, 1). */
  beta1?: number;
  /** Default 0.999, in [0, 1). */
  beta2?: number;
  /** Default 1e-8, > 0. */
  eps?: number;
  /** Decoupled weight decay, >= 0. Default 0.01 (torch.optim.AdamW). */
  weightDecay?: number;
  /** 1-based step count for the bias corrections. Required. */
  step: number;
}
export interface MuonMomentumOptions {
  /** mu, in [0, 1). Default 0.95. */
  momentum?: number;
  /** Return g + mu*m instead of m. Default true. */
  nesterov?: boolean;
}
export interface MuonApplyOptions {
  /** Learning rate, >= 0. Required. */
  lr: number;
  /** Decoupled weight decay, >= 0. Default 0. */
  weightDecay?: number;
  /** Per-matrix update scale (Moonlight: 0.2*sqrt(max(rows, cols))). Default 1. */
  scale?: number;
}

export interface Ops {
  /**
   * op(a)[m,k] · op(b)[k,n] -> [m,n]; a and b share a dtype, the output has it (fp32 accumulation).
   * With `add` ([m,n], same dtype), returns op(a)·op(b) + add in one pass, rounded once (as addmm).
   */
  matmul(a: Tensor, b: Tensor, options?: { transA?: boolean; transB?: boolean; add?: Tensor }): Tensor;
  /**
   * x [T,K] with rows sorted by group, w [E,K,N] ([E,N,K] with transB) -> [T,N]; group e is x_e · w[e].
   * With `add` ([T,N], same dtype), returns that plus add in one pass.
   */
  groupedMatmul(x: Tensor, w: Tensor, groupSizes: GroupSizes, options?: { transB?: boolean; add?: Tensor }): Tensor;
  /** x [T,K], dy [T,N] -> [E,K,N] with out[e] = x_eᵀ · dy_e (zeros for an empty group). */
  groupedWeightGrad(x: Tensor, dy: Tensor, groupSizes: GroupSizes): Tensor;
  /** Muon's Newton–Schulz orthogonalisation of x [m,n] or of each matrix of x [B,m,n]. */
  newtonSchulz(x: Tensor, options?: NewtonSchulzOptions): Tensor;

  // Neural-network ops. Inputs f32 or bf16 (the tensors of one call share a dtype unless stated),
  // fp32 arithmetic, outputs in the input dtype; statistics, router tensors and losses are f32.
  // Results are bitwise identical for any thread count. Index arguments (Indices) are
  // checked entry by entry (type, length, range), except i32 tensors an op made for that use.

  /** weight [V,D], ids (each in [0,V)) -> [T,D]: the rows of weight. */
  embedding(weight: Tensor, ids: Indices): Tensor;
  /** dy [T,D] -> dweight [V,D]: row v sums (in token order) dy's rows with id v; rows with no token are 0. */
  embeddingBackward(dy: Tensor, ids: Indices, vocabSize: number): Tensor;
  /** x [T,D], weight [D] -> y = x * rstd * weight with rstd = 1/sqrt(mean(x^2) + eps) (eps default 1e-6). */
  rmsNorm(x: Tensor, weight: Tensor, options?: { eps?: number }): RmsNormResult;
  /** Gradients of rmsNorm for upstream dy [T,D], from x, weight and the forward's rstd. */
  rmsNormBackward(dy: Tensor, x: Tensor, weight: Tensor, rstd: Tensor): RmsNormGrads;
  /**
   * Rotary embedding of x [T,H,d] (d even) over its whole last dimension; positions [T] >= 0.
   * Pair i rotates by positions[t] * theta^(-2i/d). Returns a rotated copy; { inverse: true } is the backward.
   */
  rope(x: Tensor, positions: Indices, options?: RopeOptions): Tensor;
  /** softmax(scale q kᵀ) v per batch and head, fp32 inside: q, k [B,S,H,dk], v [B,S,H,dv]. */
  attention(q: Tensor, k: Tensor, v: Tensor, options?: AttentionForwardOptions): AttentionResult;
  /** Gradients of attention for upstream dout [B,S,H,dv], from the forward's inputs, out and lse (and probs, if kept). */
  attentionBackward(dout: Tensor, q: Tensor, k: Tensor, v: Tensor, out: Tensor, lse: Tensor, options?: AttentionBackwardOptions): AttentionGrads;
  /** silu(gate) * up, elementwise; gate and up share shape (any rank) and dtype. */
  swiglu(gate: Tensor, up: Tensor): Tensor;
  swigluBackward(dy: Tensor, gate: Tensor, up: Tensor): SwigluGrads;
  /** Softmax cross-entropy of logits [T,V] against targets [T] in [0,V); negative targets (e.g. -100) are ignored. */
  /**
   * Mean softmax cross-entropy. options.gradInPlace: also overwrite logits with the gradient of
   * the mean loss (what crossEntropyBackward gives with scale 1/count), in the same pass while
   * each row is in cache; the result's dlogits is then that same tensor.
   */
  crossEntropy(logits: Tensor, targets: Indices, options?: { gradInPlace?: boolean }): CrossEntropyResult;
  /**
   * dlogits [T,V] = scale * (softmax(logits) - onehot(target)), zero rows for ignored targets.
   * scale defaults to 1; pass 1/count for the gradient of the mean loss.
   */
  crossEntropyBackward(logits: Tensor, targets: Indices, lse: Tensor, options?: { scale?: number }): Tensor;
  /**
   * DeepSeek-V3 "noaux_tc" routing of logits [T,E] f32 with bias [E] f32: scores = sigmoid(logits);
   * experts are chosen by score + bias (with nGroup > 1, only among the topkGroup groups whose two
   * best score + bias sum highest); weights are the chosen scores without bias.
   */
  moeRoute(logits: Tensor, bias: Tensor, options: MoeRouteOptions): MoeRouteResult;
  /** dweights [T,topK] f32 -> dlogits [T,E] f32, through the normalisation and the sigmoid (0 for unchosen experts). */
  /** options.dscores: a gradient of the scores from another path (the balance loss), added before the sigmoid's derivative. */
  moeRouteBackward(dweights: Tensor, scores: Tensor, experts: Indices, options?: { normTopk?: boolean; scalingFactor?: number; dscores?: Tensor }): Tensor;
  /** x [T,D] and experts [T*topK] in [0,numExperts) -> x's rows grouped by expert (stable), for groupedMatmul. */
  moePermute(x: Tensor, experts: Indices, numExperts: number): MoePermuteResult;
  /** ys [T*topK,D] in sorted order -> y [T,D] = sum over slots of weights[t,slot] * ys[row of (t,slot)]. */
  moeUnpermute(ys: Tensor, order: Indices, weights: Tensor): Tensor;
  moeUnpermuteBackward(dy: Tensor, ys: Tensor, order: Indices, weights: Tensor): MoeUnpermuteGrads;
  /** dxs [T*topK,D] in sorted order -> dx [T,D]: the sum of each token's topK rows, in slot order. */
  moePermuteBackward(dxs: Tensor, order: Indices, topK: number): Tensor;
  /**
   * DeepSeek-V3 sequence-wise balance loss of scores [B*S,E] f32 (sigmoid scores) and experts
   * [B*S*topK]: alpha * mean over sequences of sum_i f_i P_i, f_i = E/(topK*S) * (times expert i is
   * chosen in the sequence), P_i = mean over its tokens of s_i / sum_j s_j.
   */
  moeSeqAuxLoss(scores: Tensor, experts: Indices, options: MoeSeqAuxLossOptions): MoeSeqAuxLossResult;
  /** a + alpha * b (alpha default 1); same shape and dtype. */
  add(a: Tensor, b: Tensor, options?: { alpha?: number }): Tensor;
  /** s * a. */
  scale(a: Tensor, s: number): Tensor;
  /** IN PLACE: t *= s. */
  scaleInPlace(t: Tensor, s: number): void;
  /** Sum of squares in double: per-row (last dimension) partial sums, added in row order. */
  sumSquares(t: Tensor): number;
  /** A copy, converted to options.dtype (default: the same dtype; f32 -> bf16 rounds to nearest even). */
  copy(src: Tensor, options?: { dtype?: DType }): Tensor;
  /** IN PLACE: dst = src (same shape, any dtypes; a bf16 dst rounds). */
  assign(dst: Tensor, src: Tensor): void;
  /** Splits x along options.axis (default -1, the last) into pieces of these sizes (they sum to that dimension). */
  split(x: Tensor, sizes: readonly number[], options?: { axis?: number }): Tensor[];
  /** Concatenates along options.axis (default -1, the last); the tensors share dtype, rank and every other dimension. */
  concat(tensors: readonly Tensor[], options?: { axis?: number }): Tensor;
  /**
   * IN PLACE, torch.optim.AdamW: param, m, v f32 (updated), grad f32 or bf16 of the same shape.
   * p *= 1 - lr*wd; m = b1 m + (1-b1) g; v = b2 v + (1-b2) g²; p -= lr * m̂ / (sqrt(v̂) + eps).
   */
  adamwStep(param: Tensor, grad: Tensor, m: Tensor, v: Tensor, options: AdamWOptions): void;
  /**
   * Muon momentum: m = mu*m + grad IN PLACE (m f32, grad f32 or bf16); returns a new f32 tensor
   * U = grad + mu*m (nesterov) or a copy of m.
   */
  muonMomentum(m: Tensor, grad: Tensor, options?: MuonMomentumOptions): Tensor;
  /** IN PLACE: param (f32) = param * (1 - lr*wd) - lr * scale * update (update f32 or bf16). */
  muonApply(param: Tensor, update: Tensor, options: MuonApplyOptions): void;
}
/** The ops, and whether a device's backend implements one. */
export interface OpsApi extends Ops {
  /** Whether the backend of `device` implements op `name` (in this build). */
  supports(name: keyof Ops, device: Device): boolean;
}
export declare const ops: OpsApi;

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
  /** The MPI library a job started by mpirun/srun would use (opened with dlopen), or why none. */
  mpi: MpiInfo;
  /** The op list: every op with the backends that implement it in this build. */
  ops: { name: keyof Ops; backends: Device[] }[];
}
export declare function info(): Info;

export interface MpiInfo {
  available: boolean;
  /** 'Open MPI' or 'MPICH' (the MPICH ABI: also Intel MPI, MVAPICH). */
  library?: string;
  abi?: 'openmpi' | 'mpich';
  /** The file opened: MOONTRAIN_MPI_LIB, else libmpi.so.40, libmpi.so.12 or libmpich.so.12. */
  path?: string;
  /** The first line of MPI_Get_library_version. */
  version?: string;
  /** Why no library could be used. */
  reason?: string;
}

/** Threads for native work (1 to 1024). Results do not depend on it. */
export declare function setNumThreads(n: number): void;

/** Controls for tests and benchmarks. */
export declare const debug: {
  /** Fill every new native buffer with NaN so an op that skips an element is caught. */
  poisonAllocations(on: boolean): void;
  /** Lower the ISA path (clamped to what the CPU has); returns the path now in use. */
  setIsa(isa: Isa): Isa;
  /** Native tensor storages alive now, and their bytes (views share one storage): for leak checks. */
  liveTensors(): { count: number; bytes: number };
};

// ---------------------------------------------------------------------------------------------
// io: safetensors checkpoints
// ---------------------------------------------------------------------------------------------

/** Every element type the safetensors format defines. */
export type SafetensorsDType =
  | 'BOOL'
  | 'U8'
  | 'I8'
  | 'I16'
  | 'U16'
  | 'F16'
  | 'BF16'
  | 'I32'
  | 'U32'
  | 'F32'
  | 'F64'
  | 'I64'
  | 'U64'
  | 'C64'
  | 'F8_E5M2'
  | 'F8_E4M3'
  | 'F8_E8M0'
  | 'F4'
  | 'F6_E2M3'
  | 'F6_E3M2';

/** One tensor of a safetensors header. */
export interface SafetensorsEntry {
  name: string;
  dtype: SafetensorsDType;
  shape: number[];
  /** [begin, end) in bytes, relative to the start of the byte buffer (dataStart in the file). */
  offsets: [number, number];
}

/** A validated safetensors header. */
export interface SafetensorsHeader {
  /** The tensors in the order of their data in the file (the order they were written). */
  entries: SafetensorsEntry[];
  /** The `__metadata__` map ({} when absent). */
  metadata: Record<string, string>;
  /** File offset of the byte buffer: 8 + the header length. */
  dataStart: number;
}

/**
 * Element data of a tensor loaded with { raw: true }, little-endian as in the file:
 * F32/F64/I8/I16/I32/U32/I64/U64 as the matching typed array, F16 and BF16 as their bit
 * patterns (Uint16Array), C64 as interleaved (re, im) float32 pairs, and U8, BOOL, F8_* and the
 * packed sub-byte F4/F6 types as bytes.
 */
export type RawTensorData =
  | Float32Array
  | Float64Array
  | Int8Array
  | Int16Array
  | Int32Array
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array;

/** A tensor as stored in the file (any dtype, any rank), for { raw: true }. */
export interface RawTensor {
  dtype: SafetensorsDType;
  shape: number[];
  data: RawTensorData;
}

export interface LoadSafetensorsOptions {
  /**
   * Convert every tensor to this dtype (f32 -> bf16 rounds to nearest even). Default: F32 stays
   * f32, BF16 stays bf16, F16 and F64 become f32 (F16 exactly, F64 rounded to nearest).
   */
  dtype?: DType;
  /** Load only these tensors; a name the checkpoint lacks is an Error. Default: all. */
  names?: readonly string[];
  /**
   * Return RawTensor data instead of Tensors: any dtype (integers included) and any rank
   * (scalars included). Without it, a non-float tensor, or one of rank 0 or above 4, is an Error.
   */
  raw?: boolean;
}

/** What a load returns. Tensors come in file order (or in the order of options.names). */
export interface SafetensorsContents<T> {
  tensors: Map<string, T>;
  /** The file's `__metadata__`; for a sharded checkpoint, every shard's merged with the index's `metadata` (as strings). */
  metadata: Record<string, string>;
}

/**
 * A problem with a safetensors file (or a sharded checkpoint): code
 * 'ERR_MOONTRAIN_BAD_SAFETENSORS', the message `safetensors: <file>: [tensor '<name>': ]<what>`.
 */
export interface SafetensorsError extends Error {
  code: 'ERR_MOONTRAIN_BAD_SAFETENSORS';
  /** The file (shard, or index) at fault. */
  file: string;
  /** The tensor at fault, when one is. */
  tensor?: string;
}

/**
 * Reading and writing checkpoints in the safetensors format (Hugging Face). Files are read with
 * one read per tensor byte range (in chunks), never as a whole; every problem with a file throws
 * a SafetensorsError; bad arguments throw the usual invalid-argument Error.
 */
export interface Io {
  /**
   * Writes the tensors (f32 -> F32, bf16 -> BF16; in the order given, contiguous) and optional
   * string metadata. The header is padded with spaces so the data starts 8-aligned. The write is
   * atomic: `<file>.tmp-<pid>` (`-<threadId>` added in a worker thread), fsync, then rename over
   * `file`; a failed save leaves `file` as it was and no temporary file behind.
   */
  saveSafetensors(file: string, tensors: Record<string, Tensor> | Map<string, Tensor>, metadata?: Record<string, string>): void;
  /** Loads a .safetensors file (F32, BF16, F16, F64 tensors of rank 1 to 4, unless raw). */
  loadSafetensors(file: string, options?: LoadSafetensorsOptions & { raw?: false }): SafetensorsContents<Tensor>;
  loadSafetensors(file: string, options: LoadSafetensorsOptions & { raw: true }): SafetensorsContents<RawTensor>;
  loadSafetensors(file: string, options?: LoadSafetensorsOptions): SafetensorsContents<Tensor | RawTensor>;
  /**
   * Loads a checkpoint: a .safetensors file; a directory with model.safetensors; or a directory
   * (or the index file itself) with model.safetensors.index.json, whose weight_map names each
   * tensor's shard (model.safetensors wins when a directory has both, as in transformers). Each
   * shard needed is read once, and only the weight_map's tensors are loaded; every tensor of the
   * weight_map (or of options.names) must be in its shard. Shards must lie inside the directory.
   */
  loadSafetensorsDir(dirOrFile: string, options?: LoadSafetensorsOptions & { raw?: false }): SafetensorsContents<Tensor>;
  loadSafetensorsDir(dirOrFile: string, options: LoadSafetensorsOptions & { raw: true }): SafetensorsContents<RawTensor>;
  loadSafetensorsDir(dirOrFile: string, options?: LoadSafetensorsOptions): SafetensorsContents<Tensor | RawTensor>;
  /** Reads and validates only the header. */
  readSafetensorsHeader(file: string): SafetensorsHeader;
}
export declare const io: Io;

// ---------------------------------------------------------------------------------------------
// parallel: collectives between the processes of one job on one host (lib/parallel)
// ---------------------------------------------------------------------------------------------

/** Bytes this rank wrote into its ring neighbour's slots, per kind of collective. */
export interface CommBytes {
  /** allGather and allGatherV: (size-1) chunks per call (its own and size-2 forwarded). */
  allGather: number;
  /** reduceScatter and reduceScatterV: (size-1) chunks of fp32 partial sums (also for bf16). */
  reduceScatter: number;
  /** allReduce: its reduce-scatter and all-gather phases. */
  allReduce: number;
  /** broadcast: the tensor once, except on the last rank of the ring from the root. */
  broadcast: number;
}

export type NumbersOp = 'sum' | 'max';

/** How a communicator moves data (diagnostics). */
export interface CommTransport {
  /** Bytes of one pipeline slot of the ring. */
  slotBytes: number;
  /** Slots per ring link. */
  slots: number;
  /** Large messages are read directly from the peers' buffers (process_vm_readv) instead of through the slots. */
  direct: boolean;
  /** 'shm': the ring of one host; 'hier': MPI between hosts, the ring inside each; 'mpi': everything through MPI. */
  backend: CommBackend;
  /** With MPI: hosts in the job (ranks grouped by MPI_COMM_TYPE_SHARED, ordered by their lowest rank), this rank's host and its place there. */
  hosts?: number;
  host?: number;
  hostName?: string;
  localRank?: number;
  localSize?: number;
}

export type CommBackend = 'shm' | 'hier' | 'mpi';

export interface CommunicatorOptions {
  /** Names the job's shared-memory segment /dev/shm/moontrain-<jobName>; [A-Za-z0-9._-], 1 to 200 characters. */
  jobName: string;
  /**
   * 'shm' (default): ranks of one host. 'hier' / 'mpi': the ranks of an MPI job (rank and size
   * must match MPI's world; world rank 0's jobName is used, each host's ring is
   * /dev/shm/moontrain-<jobName>-host<h>); 'hier' reduces inside each host first, 'mpi' runs
   * every collective through MPI. init() picks these under mpirun or srun.
   */
  backend?: CommBackend;
  /** 0 to size-1; rank 0 creates the segment. */
  rank: number;
  /** Processes in the job, 1 to 64. */
  size: number;
  /** Seconds the ranks wait for each other to join. Default 60. */
  connectTimeout?: number;
  /** Seconds any one wait inside a collective may take before the job fails. Default 600. */
  timeout?: number;
  /** A peer whose heartbeat (every 200 ms) is older than this many seconds counts as dead. Default 5. */
  heartbeatTimeout?: number;
  /** Bytes of one pipeline slot (rank 0's value is used by all). Default 512 KiB. */
  slotBytes?: number;
  /** Pipeline slots per ring link, 2 to 16. Default 4. */
  slots?: number;
  /** Pause iterations before a wait sleeps on a futex (100 at most with more ranks than CPUs, which then sched_yield first). Default 2000. */
  spin?: number;
  /**
   * Single-copy transfers for large messages: peers read each other's buffers with
   * process_vm_readv (like NCCL's P2P direct reads), when every rank can (probed when the job
   * starts). Default true.
   */
  direct?: boolean;
  /** The smallest largest-chunk, in bytes, that goes the direct way. Default 1 MiB. */
  directMinBytes?: number;
  /**
   * Use the direct path also when the job has more ranks than this process may use CPUs. Off by
   * default: then the staged ring is faster (a slot a rank wrote is still in the cache of the CPU
   * its neighbour runs on next). Every rank must agree; the job uses direct only if all want it.
   */
  directWhenOversubscribed?: boolean;
}

export interface InitOptions extends Omit<CommunicatorOptions, 'jobName' | 'rank' | 'size'> {
  /** Read WORLD_SIZE, RANK / LOCAL_RANK, MOONTRAIN_JOB from here instead of process.env. */
  env?: Record<string, string | undefined>;
}

/**
 * A member of a job: rank `rank` of `size` processes on this host, connected by a shared-memory
 * ring (NCCL style: data moves in pieces through pipeline slots of the next rank). Every rank
 * must make the same calls in the same order with matching arguments; a mismatch, a dead peer,
 * abort() or a timeout makes every rank's call throw an Error with `code`
 * (ERR_MOONTRAIN_RANK_FAILED, _COMM_ABORTED, _COMM_MISMATCH, _COMM_TIMEOUT) and `rank`, the rank
 * at fault, within about a second (a killed peer), or heartbeatTimeout (a hung one).
 *
 * Tensors are used flattened (element order); f32 and bf16. Sums are deterministic: element i
 * of chunk c (the chunk rank c keeps) is ((x[c+1] + x[c+2]) + ...) + x[c] over ranks mod size,
 * in fp32 (bf16 is widened, and rounded once at the end), so runs are bit-reproducible and every
 * rank gets the same bits. In-place forms pass the same tensor as input and output.
 */
export interface Communicator {
  readonly rank: number;
  readonly size: number;
  readonly jobName: string;
  readonly closed: boolean;
  /**
   * output [size*n] = the concatenation of every rank's input [n] (in rank order). With an
   * output of size*n elements it is filled and returned; passing the same tensor as input and
   * output is the in-place form (this rank's chunk is already in place).
   */
  allGather(input: Tensor, output?: Tensor): Tensor;
  /**
   * input [size*n] -> output [n] = the sum over ranks of chunk `rank`. The same tensor as input
   * and output: in place, the sum lands in chunk `rank` of it (other chunks are left as they are).
   */
  reduceScatter(input: Tensor, output?: Tensor): Tensor;
  /** Variable chunks: counts[r] elements from rank r; flat output of sum(counts) elements. */
  allGatherV(input: Tensor, counts: readonly number[] | Int32Array, output?: Tensor): Tensor;
  /** input of sum(counts) elements -> this rank's counts[rank]-element slice of the sum over ranks. */
  reduceScatterV(input: Tensor, counts: readonly number[] | Int32Array, output?: Tensor): Tensor;
  /** IN PLACE: t = the sum over ranks (reduce-scatter over an even split, then all-gather); returns t. */
  allReduce(t: Tensor): Tensor;
  /** IN PLACE: t = root's t on every rank; returns t. */
  broadcast(t: Tensor, root: number): Tensor;
  /** Returns once every rank has called it. */
  barrier(): void;
  /** Small scalars (loss, norms, router loads): sum or max over ranks in double, in rank order; a new array. */
  allReduceNumbers(values: Float64Array, op: NumbersOp): Float64Array;
  /** Bytes sent by this rank since the last resetBytes(). */
  bytes(): CommBytes;
  resetBytes(): void;
  /** Fails the job: every rank's next (or current) collective throws, naming this rank and the reason. */
  abort(reason: string): void;
  /**
   * Leaves the job; idempotent. Peers that still need this rank in a collective it has not
   * finished fail naming it; a peer finishing the last collective this rank took part in does not.
   */
  close(): void;
  /** Slot geometry and whether the direct path is on. */
  transport(): CommTransport;
}

export interface LaunchOptions {
  /** Processes to start, 1 to 64. */
  nproc: number;
  /** Arguments to process.execPath (Node), e.g. ['--import=tsx', 'train.ts', '--steps', '10']. */
  argv: readonly string[];
  /**
   * Added to process.env for every child (before RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE,
   * MOONTRAIN_JOB). MOONTRAIN_NUM_THREADS defaults to the cores split evenly over the ranks.
   * A CUDA_VISIBLE_DEVICES list (here or in process.env) is dealt out, one entry per rank.
   */
  env?: Record<string, string | undefined>;
  /** The job name; default a fresh random one. */
  jobName?: string;
  /** After a rank fails, ms to let the others exit by themselves before SIGTERM. Default 0. */
  graceMs?: number;
  /** ms between SIGTERM and SIGKILL. Default 5000. */
  killAfterMs?: number;
}
