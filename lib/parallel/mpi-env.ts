// Recognizes a job started by an MPI launcher from the environment it gives each rank:
// Open MPI's mpirun (OMPI_COMM_WORLD_*), MPICH's Hydra and other PMI launchers (PMI_RANK,
// PMI_SIZE, MPI_LOCALRANKID, MPI_LOCALNRANKS), Slurm's srun (SLURM_PROCID, SLURM_NTASKS,
// SLURM_LOCALID, inside a job step). The ranks then talk through MPI (see mpi_communicator.h).
import type { CommBackend } from '../../types/core';

export interface MpiLaunch {
  launcher: 'openmpi' | 'pmi' | 'slurm';
  rank: number;
  size: number;
  /** Ranks on this host, when the launcher says. */
  localSize?: number;
  /** This rank's place among them (0-based), when the launcher says. */
  localRank?: number;
}

function int(env: NodeJS.ProcessEnv, name: string, lo: number, hi: number): number {
  const v = env[name] ?? '';
  const n = Number(v);
  if (!/^\s*\d+\s*$/.test(v) || n < lo || n > hi) throw new Error(`init: environment variable ${name}: expected an integer in [${lo}, ${hi}], got '${v}'`);
  return n;
}

function optionalInt(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const v = env[name];
  return v !== undefined && /^\s*\d+\s*$/.test(v) && Number(v) >= 1 ? Number(v) : undefined;
}

function launch(env: NodeJS.ProcessEnv, launcher: MpiLaunch['launcher'], rankVar: string, sizeVar: string, localSizeVar: string, localRankVar: string): MpiLaunch {
  const size = int(env, sizeVar, 1, 1 << 30);
  const found: MpiLaunch = { launcher, rank: int(env, rankVar, 0, size - 1), size, localSize: optionalInt(env, localSizeVar) };
  const localRank = env[localRankVar];
  if (localRank !== undefined && /^\s*\d+\s*$/.test(localRank) && Number(localRank) < size) found.localRank = Number(localRank);
  return found;
}

/** The MPI launcher that started this process, or null (not started by one). */
export function detectMpiLaunch(env: NodeJS.ProcessEnv): MpiLaunch | null {
  if (env.OMPI_COMM_WORLD_SIZE !== undefined) return launch(env, 'openmpi', 'OMPI_COMM_WORLD_RANK', 'OMPI_COMM_WORLD_SIZE', 'OMPI_COMM_WORLD_LOCAL_SIZE', 'OMPI_COMM_WORLD_LOCAL_RANK');
  if (env.PMI_SIZE !== undefined) return launch(env, 'pmi', 'PMI_RANK', 'PMI_SIZE', 'MPI_LOCALNRANKS', 'MPI_LOCALRANKID');
  // An sbatch script's own shell has SLURM_NTASKS too, but only srun's tasks are in a step.
  if (env.SLURM_PROCID !== undefined && env.SLURM_NTASKS !== undefined && (env.SLURM_STEP_ID ?? env.SLURM_STEPID) !== undefined)
    return launch(env, 'slurm', 'SLURM_PROCID', 'SLURM_NTASKS', 'SLURM_NTASKS_PER_NODE', 'SLURM_LOCALID');
  return null;
}

/** MOONTRAIN_COMM: 'hier' (default: MPI between hosts, shared memory inside) or 'mpi' (MPI only). */
export function mpiBackend(env: NodeJS.ProcessEnv): Exclude<CommBackend, 'shm'> {
  const v = env.MOONTRAIN_COMM ?? '';
  if (v === '' || v === 'hier') return 'hier';
  if (v === 'mpi') return 'mpi';
  throw new Error(`init: environment variable MOONTRAIN_COMM: expected 'hier' or 'mpi' under an MPI launcher, got '${v}'`);
}
