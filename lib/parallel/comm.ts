// Collectives between the processes of one job on one host (a shared-memory ring, NCCL style),
// one OS process per rank. Validation and the data movement are native (comm_binding.cc,
// native/comm); this file reads the torchrun-style environment and keeps track of
// open communicators so a rank that exits is reported to its peers at once.
import { ops } from '../ops';
import type {
  CommBytes,
  CommTransport,
  Communicator as CommunicatorApi,
  CommunicatorOptions,
  InitOptions,
  NumbersOp,
  Tensor,
} from '../../types/core';
import { availableParallelism } from 'os';
import { native, type NativeCommunicator } from '../native';
import { detectMpiLaunch, mpiBackend } from './mpi-env';
import { useRankGpu } from './rank-gpu';

export type { CommBytes, CommTransport, CommunicatorOptions, InitOptions, NumbersOp };

const open = new Set<Communicator>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Peers blocked in a collective then fail at once with "rank R exited with code C" instead of
  // noticing the process is gone.
  process.on('exit', (code) => {
    for (const c of open) c.markExiting(typeof code === 'number' ? code : 0);
  });
}

/** A member of a job: rank `rank` of `size` processes on this host. */
export class Communicator implements CommunicatorApi {
  readonly rank: number;
  readonly size: number;
  readonly jobName: string;
  readonly #native: NativeCommunicator;

  constructor(options: CommunicatorOptions) {
    if (typeof options !== 'object' || options === null) throw new TypeError('Communicator: expected an options object { jobName, rank, size }');
    const { jobName, rank, size, ...rest } = options;
    this.#native = new native.NativeCommunicator(jobName, rank, size, rest);
    this.rank = this.#native.rank;
    this.size = this.#native.size;
    this.jobName = this.#native.jobName;
    open.add(this);
    installExitHook();
  }

  get closed(): boolean {
    return this.#native.closed;
  }

  transport(): CommTransport {
    return { ...this.#native.geometry };
  }

  allGather(input: Tensor, output?: Tensor): Tensor {
    return hostStaged(input, output, (i, o) => this.#native.allGather(i, o));
  }
  reduceScatter(input: Tensor, output?: Tensor): Tensor {
    return hostStaged(input, output, (i, o) => this.#native.reduceScatter(i, o));
  }
  allGatherV(input: Tensor, counts: readonly number[] | Int32Array, output?: Tensor): Tensor {
    return hostStaged(input, output, (i, o) => this.#native.allGatherV(i, counts, o));
  }
  reduceScatterV(input: Tensor, counts: readonly number[] | Int32Array, output?: Tensor): Tensor {
    return hostStaged(input, output, (i, o) => this.#native.reduceScatterV(i, counts, o));
  }
  allReduce(t: Tensor): Tensor {
    return hostStaged(t, undefined, (i) => this.#native.allReduce(i));
  }
  broadcast(t: Tensor, root: number): Tensor {
    return hostStaged(t, undefined, (i) => this.#native.broadcast(i, root));
  }
  barrier(): void {
    this.#native.barrier();
  }
  allReduceNumbers(values: Float64Array, op: NumbersOp): Float64Array {
    return this.#native.allReduceNumbers(values, op);
  }
  bytes(): CommBytes {
    return this.#native.bytes();
  }
  resetBytes(): void {
    this.#native.resetBytes();
  }
  abort(reason: string): void {
    this.#native.abort(reason);
  }
  close(): void {
    this.#native.close();
    open.delete(this);
  }
  [Symbol.dispose](): void {
    this.close();
  }
  /** Internal (the exit hook): tells the peers this process is exiting with `code`. */
  markExiting(code: number): void {
    this.#native.markExiting(code);
  }
}

function envInt(name: string, value: string, lo: number, hi: number): number {
  const n = Number(value);
  if (!/^\s*\d+\s*$/.test(value) || !Number.isInteger(n) || n < lo || n > hi)
    throw new Error(`init: environment variable ${name}: expected an integer in [${lo}, ${hi}], got '${value}'`);
  return n;
}

/**
 * Threads per rank when nothing says otherwise: the cores this process may use split evenly over
 * `ranks` (at least 1), so that ranks x threads <= cores and no rank's pool spins on another's core.
 */
export function defaultThreadsPerRank(ranks: number): number {
  return Math.max(1, Math.floor(availableParallelism() / ranks));
}

/**
 * The communicator of this process, from the environment that launch() (or torchrun) sets:
 * WORLD_SIZE, RANK (or LOCAL_RANK) and MOONTRAIN_JOB (else TORCHELASTIC_RUN_ID, else
 * MASTER_PORT names the job; MASTER_ADDR is ignored: one host). Without WORLD_SIZE: a size-1
 * communicator. Under another launcher (no MOONTRAIN_NUM_THREADS in the environment) the native
 * thread pool is set to defaultThreadsPerRank(WORLD_SIZE). Without WORLD_SIZE but under an MPI
 * launcher (mpirun, mpiexec, srun: see mpi-env.ts): the MPI job's communicator, backend
 * MOONTRAIN_COMM ('hier' by default), threads split over the ranks of each host. A rank of
 * torchrun or an MPI launcher gets its own GPU (useRankGpu in rank-gpu.ts) when init() comes
 * before its first CUDA call.
 */
export function init(options: InitOptions = {}): Communicator {
  const env = options.env ?? process.env;
  const { env: _env, ...rest } = options;
  void _env;
  if (env === process.env) useRankGpu(env);
  const sizeVar = env.WORLD_SIZE;
  const mpi = sizeVar === undefined || sizeVar === '' ? detectMpiLaunch(env) : null;
  if (mpi) {
    const backend = rest.backend ?? mpiBackend(env);
    if (env === process.env && !env.MOONTRAIN_NUM_THREADS) native.setNumThreads(defaultThreadsPerRank(mpi.localSize ?? 1));
    const job = (env.MOONTRAIN_JOB || `mpi-${process.pid}-${Math.random().toString(36).slice(2, 10)}`).replace(/[^A-Za-z0-9._-]/g, '_');
    return new Communicator({ ...rest, jobName: job, rank: mpi.rank, size: mpi.size, backend });
  }
  if (sizeVar === undefined || sizeVar === '') {
    const job = env.MOONTRAIN_JOB || `solo-${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
    return new Communicator({ ...rest, jobName: job, rank: 0, size: 1 });
  }
  const size = envInt('WORLD_SIZE', sizeVar, 1, 64);
  const rankVar = env.RANK ?? env.LOCAL_RANK;
  if (rankVar === undefined) throw new Error(`init: WORLD_SIZE is ${size} but neither RANK nor LOCAL_RANK is set`);
  const rank = envInt(env.RANK !== undefined ? 'RANK' : 'LOCAL_RANK', rankVar, 0, size - 1);
  if (env.RANK !== undefined && env.LOCAL_RANK !== undefined && env.LOCAL_RANK !== env.RANK)
    throw new Error(`init: RANK ${env.RANK} differs from LOCAL_RANK ${env.LOCAL_RANK}: moontrain's communicator spans one host only`);
  if (env.LOCAL_WORLD_SIZE !== undefined && env.LOCAL_WORLD_SIZE !== sizeVar)
    throw new Error(`init: LOCAL_WORLD_SIZE ${env.LOCAL_WORLD_SIZE} differs from WORLD_SIZE ${sizeVar}: moontrain's communicator spans one host only`);
  let job = env.MOONTRAIN_JOB || env.TORCHELASTIC_RUN_ID || (env.MASTER_PORT ? `port-${env.MASTER_PORT}` : '');
  if (!job)
    throw new Error(
      `init: WORLD_SIZE is ${size} but MOONTRAIN_JOB is not set: start the ranks with launch() (moontrain's launcher), ` +
        'or give every rank the same MOONTRAIN_JOB (or MASTER_PORT)',
    );
  job = job.replace(/[^A-Za-z0-9._-]/g, '_');
  // Children of launch(): die with the launcher even if it is SIGKILLed (no orphans).
  if (env.MOONTRAIN_LAUNCHER_PID !== undefined && env.MOONTRAIN_LAUNCHER_PID === String(process.ppid)) native.commSetParentDeathSignal(15);
  if (env === process.env && !env.MOONTRAIN_NUM_THREADS) native.setNumThreads(defaultThreadsPerRank(size));
  return new Communicator({ ...rest, jobName: job, rank, size });
}

/** Removes a leftover shared-memory segment of `jobName` whose creator is gone; true if one was removed. */
export function cleanupStale(jobName: string): boolean {
  return native.commCleanupStale(jobName);
}

/** The name of a job's segment under /dev/shm. */
export function segmentPath(jobName: string): string {
  return `/dev/shm/moontrain-${jobName}`;
}

/**
 * The transports (shared-memory rings, MPI) move host memory: a GPU tensor goes through a host
 * copy and the result back to its device (host-staged collectives).
 */
function hostStaged(input: Tensor, output: Tensor | undefined, run: (input: Tensor, output?: Tensor) => Tensor): Tensor {
  // Anything else (host tensors, and bad arguments the native side names) goes straight through.
  if ((input as Partial<Tensor> | undefined)?.device !== 'cuda' && (output as Partial<Tensor> | undefined)?.device !== 'cuda') return run(input, output);
  const hostIn = input.device === 'cuda' ? input.to('cpu') : input;
  const result = run(hostIn);
  if (hostIn !== input) hostIn.dispose();
  const back = result.to(output?.device ?? input.device);
  if (back !== result) result.dispose();
  if (!output) return back;
  ops.assign(output, back);
  back.dispose();
  return output;
}
