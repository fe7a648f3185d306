// Starts the ranks of a job as child processes of this one (torchrun style) and watches them:
// the first rank to fail stops the job, SIGINT/SIGTERM reach every child, and the job's
// shared-memory segment is removed at the end, so neither processes nor segments are left.
import { spawn, type ChildProcess } from 'child_process';
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import { constants as osConstants } from 'os';
import type { LaunchOptions } from '../../types/core';
import { defaultThreadsPerRank, segmentPath } from './comm';
import { cudaDeviceCount, rankGpu, sharedGpus, sharingNotice } from './rank-gpu';

export type { LaunchOptions };

function signalNumber(signal: NodeJS.Signals): number {
  return (osConstants.signals as Record<string, number>)[signal] ?? 0;
}

/** A fresh job name: `job-<pid>-<12 hex digits>`. */
export function newJobName(): string {
  return `job-${process.pid}-${randomBytes(6).toString('hex')}`;
}

/**
 * Runs `nproc` children of process.execPath with `argv` and the environment RANK, WORLD_SIZE,
 * LOCAL_RANK, LOCAL_WORLD_SIZE, MOONTRAIN_JOB (and MOONTRAIN_LAUNCHER_PID, so init() arranges
 * for a child to die with this process), stdio inherited; MOONTRAIN_NUM_THREADS is the cores
 * split over the ranks unless process.env or options.env sets it. Resolves with 0 when every rank exits
 * with 0. When a rank exits otherwise, prints `moontrain: rank R exited with code C (signal S);
 * stopping the job`, sends SIGTERM to the others (after graceMs), SIGKILL killAfterMs later, and
 * resolves with that rank's code (128 + signal number for a signal) once all have exited; when
 * several fail at once, the first exit observed counts (a survivor that saw the failure may exit
 * before the rank at fault is reaped). SIGINT and SIGTERM sent to this process are forwarded to
 * every rank (which then wind down on their own) and make the result 130 / 143.
 * With nproc > 1, rank r gets its own GPU: CUDA_VISIBLE_DEVICES is entry r mod n of the n GPUs
 * this process sees (its CUDA_VISIBLE_DEVICES split at commas, else CUDA devices 0 .. n-1), with a
 * one-line notice when nproc > n; a single-entry or empty CUDA_VISIBLE_DEVICES, or a host with
 * fewer than two GPUs, leaves every rank's as it is.
 */
export function launch(options: LaunchOptions): Promise<number> {
  const { nproc, argv } = options;
  if (!Number.isInteger(nproc) || nproc < 1 || nproc > 64) throw new RangeError(`launch: nproc: expected an integer in [1, 64], got ${nproc}`);
  if (!Array.isArray(argv) || argv.some((a) => typeof a !== 'string')) throw new TypeError('launch: argv: expected an array of strings');
  const jobName = options.jobName ?? newJobName();
  if (!/^[A-Za-z0-9._-]{1,200}$/.test(jobName)) throw new RangeError(`launch: jobName: expected [A-Za-z0-9._-]{1,200}, got '${jobName}'`);
  const graceMs = options.graceMs ?? 0;
  const killAfterMs = options.killAfterMs ?? 5000;
  const baseEnv: NodeJS.ProcessEnv = { ...process.env, ...options.env };
  const gpus = nproc > 1 ? sharedGpus(baseEnv.CUDA_VISIBLE_DEVICES, cudaDeviceCount) : null;
  const notice = gpus && sharingNotice(nproc, gpus);
  if (notice) console.error(notice);

  return new Promise<number>((resolve) => {
    const children: (ChildProcess | null)[] = [];
    const running = new Set<number>();
    let result = 0;
    let stopping = false;
    let interrupted = false;
    const timers: NodeJS.Timeout[] = [];

    // After a forwarded SIGINT/SIGTERM the ranks wind down on their own (a trainer may be saving
    // a checkpoint): their exits no longer stop the others.
    const forward = (signal: NodeJS.Signals) => () => {
      interrupted = true;
      if (result === 0) result = 128 + signalNumber(signal);
      for (const r of running) children[r]?.kill(signal);
    };
    const onInt = forward('SIGINT');
    const onTerm = forward('SIGTERM');
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);

    const stopOthers = () => {
      if (stopping) return;
      stopping = true;
      timers.push(
        setTimeout(() => {
          for (const r of running) children[r]?.kill('SIGTERM');
          timers.push(
            setTimeout(() => {
              for (const r of running) children[r]?.kill('SIGKILL');
            }, killAfterMs),
          );
        }, graceMs),
      );
    };

    const finish = () => {
      for (const t of timers) clearTimeout(t);
      process.removeListener('SIGINT', onInt);
      process.removeListener('SIGTERM', onTerm);
      try {
        fs.rmSync(segmentPath(jobName), { force: true });
      } catch {
        // nothing to remove
      }
      resolve(result);
    };

    const exited = (rank: number, code: number | null, signal: NodeJS.Signals | null) => {
      if (!running.delete(rank)) return;
      if ((code !== 0 || signal) && !stopping && !interrupted) {
        const c = code ?? 128 + (signal ? signalNumber(signal) : 0);
        console.error(`moontrain: rank ${rank} exited with code ${c}${signal ? ` (signal ${signal})` : ''}; stopping the job`);
        if (result === 0) result = c === 0 ? 1 : c;
        stopOthers();
      }
      if (running.size === 0) finish();
    };

    for (let rank = 0; rank < nproc; ++rank) {
      const env: NodeJS.ProcessEnv = {
        MOONTRAIN_NUM_THREADS: String(defaultThreadsPerRank(nproc)),
        ...baseEnv,
        ...(gpus ? { CUDA_VISIBLE_DEVICES: rankGpu(gpus, rank) } : {}),
        RANK: String(rank),
        LOCAL_RANK: String(rank),
        WORLD_SIZE: String(nproc),
        LOCAL_WORLD_SIZE: String(nproc),
        MOONTRAIN_JOB: jobName,
        MOONTRAIN_LAUNCHER_PID: String(process.pid),
      };
      let child: ChildProcess;
      try {
        child = spawn(process.execPath, [...argv], { stdio: 'inherit', env });
      } catch (e) {
        console.error(`moontrain: cannot start rank ${rank}: ${(e as Error).message}; stopping the job`);
        if (result === 0) result = 1;
        stopOthers();
        break;
      }
      children.push(child);
      running.add(rank);
      child.on('error', (e) => {
        console.error(`moontrain: rank ${rank}: ${e.message}`);
        exited(rank, 1, null);
      });
      child.on('exit', (code, signal) => exited(rank, code, signal));
    }
    if (running.size === 0) finish();
  });
}
