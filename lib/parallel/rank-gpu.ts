// Which GPU each rank of a job uses: a rank takes entry (local rank mod n) of the n GPUs its host
// gives the job, by narrowing its CUDA_VISIBLE_DEVICES to that one entry, so that GPU is CUDA
// device 0 for the rank. The CUDA driver reads CUDA_VISIBLE_DEVICES once, when the process first
// initializes CUDA (the addon's first cudaGetDeviceCount: info(), a 'cuda' device argument, the
// first CUDA allocation), so it is set before that: by launch() in each rank's environment, and for
// ranks of another launcher (torchrun, mpirun, srun) by init() and the train command, in
// process.env (which the main thread's native code sees) before anything touches CUDA.
import { spawnSync } from 'child_process';
import { addonFile, native } from '../native';
import { detectMpiLaunch } from './mpi-env';

/**
 * The GPUs the ranks on a host share: `visible` (CUDA_VISIBLE_DEVICES) split at commas when set,
 * else '0' .. String(count() - 1). null (the environment is left alone) when that is one GPU or
 * none, or the list has an empty entry.
 */
export function sharedGpus(visible: string | undefined, count: () => number): string[] | null {
  if (visible !== undefined) {
    const list = visible.split(',').map((s) => s.trim());
    return list.length > 1 && list.every((s) => s !== '') ? list : null;
  }
  const n = count();
  return n > 1 ? Array.from({ length: n }, (_, i) => String(i)) : null;
}

/** The CUDA_VISIBLE_DEVICES of local rank `localRank`: one entry of `gpus`, round-robin. */
export function rankGpu(gpus: readonly string[], localRank: number): string {
  return gpus[localRank % gpus.length];
}

/** The one-line notice when `ranks` ranks of a host share `gpus`; null when each has its own. */
export function sharingNotice(ranks: number, gpus: readonly string[]): string | null {
  if (ranks <= gpus.length) return null;
  return `moontrain: ${ranks} ranks share ${gpus.length} GPUs (${gpus.join(',')}) round-robin: local rank r uses entry r mod ${gpus.length} as CUDA_VISIBLE_DEVICES`;
}

/** The CUDA devices the addon reports (0 without a driver or a CUDA build); initializes CUDA in this process. */
export function cudaDeviceCount(): number {
  return native.info().cuda.devices.length;
}

/**
 * The same count from a short child process, so that CUDA stays uninitialized here and a later
 * CUDA_VISIBLE_DEVICES still applies; 0 for a build without CUDA code (no child then).
 */
function cudaDeviceCountElsewhere(): number {
  if (!native.opList().some((op) => op.backends.includes('cuda'))) return 0;
  const script = `process.stdout.write(String(require(${JSON.stringify(addonFile())}).info().cuda.devices.length))`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 60_000 });
  const n = Number(r.stdout);
  if (r.status === 0 && r.stdout !== '' && Number.isInteger(n) && n >= 0) return n;
  const why = r.error?.message ?? (r.stderr.trim().split('\n').pop() || `exit code ${r.status}`);
  console.error(`moontrain: cannot count this host's GPUs (${why}); CUDA_VISIBLE_DEVICES left as it is`);
  return 0;
}

function wholeNumber(v: string | undefined): number | undefined {
  return v !== undefined && /^\s*\d+\s*$/.test(v) ? Number(v) : undefined;
}

let placed = false;

/**
 * For a rank of a launcher other than launch() (which sets each rank's CUDA_VISIBLE_DEVICES
 * itself): narrows env.CUDA_VISIBLE_DEVICES to entry (local rank mod n) of the host's n GPUs, once
 * per process, and prints sharingNotice() from local rank 0. The local rank is LOCAL_RANK
 * (torchrun) or the MPI launcher's (OMPI_COMM_WORLD_LOCAL_RANK, MPI_LOCALRANKID, SLURM_LOCALID);
 * without one, or with a single-entry or empty CUDA_VISIBLE_DEVICES, nothing changes. Takes
 * effect only before this process's first CUDA call.
 */
export function useRankGpu(env: NodeJS.ProcessEnv = process.env): void {
  if (placed || env.MOONTRAIN_LAUNCHER_PID !== undefined) return;
  let localRank: number | undefined, localSize: number | undefined;
  if (env.WORLD_SIZE !== undefined && env.WORLD_SIZE !== '') {
    localRank = wholeNumber(env.LOCAL_RANK ?? env.RANK);
    localSize = wholeNumber(env.LOCAL_WORLD_SIZE ?? env.WORLD_SIZE);
  } else {
    let mpi: ReturnType<typeof detectMpiLaunch> = null;
    try {
      mpi = detectMpiLaunch(env);
    } catch {
      return; // init() names the bad variable
    }
    localRank = mpi?.localRank;
    localSize = mpi?.localSize;
  }
  if (localRank === undefined || localSize === 1) return;
  placed = true;
  const gpus = sharedGpus(env.CUDA_VISIBLE_DEVICES, cudaDeviceCountElsewhere);
  if (!gpus) return;
  env.CUDA_VISIBLE_DEVICES = rankGpu(gpus, localRank);
  const notice = localRank === 0 && localSize !== undefined ? sharingNotice(localSize, gpus) : null;
  if (notice) console.error(notice);
}
