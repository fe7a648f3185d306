// Checkpoints: RUN/checkpoint-<step>/ holds the model (Hugging Face names, safetensors,
// config.json), the optimizer state (optimizer.safetensors; a ZeRO-1 run: one file per rank and
// optimizer.index.json, see optimizer-shards.ts), the tokenizer (tokenizer.json) and the trainer
// state (trainer.json: step, tokens, seed, settings, the data's fingerprint). A checkpoint is
// written to a temporary folder and renamed into place; RUN/checkpoint points to the latest
// (checkpoint-layout.ts), so a complete one survives a crash at any moment, a full disk or a NaN.
import * as fs from 'fs';
import * as path from 'path';
import type { Tensor } from '../../types/core';
import { loadSafetensors, saveSafetensors } from '../io/safetensors';
import type { MoonlightModel } from '../nn/model';
import type { ParamStateDict } from '../optim/state';
import { tensor } from '../tensor';
import { writeFileAtomic } from '../io/atomic';
import { checksumMetadata, verifyTensors } from '../io/checksum';
import { LATEST, publishCheckpoint, resolveRun, startSave } from './checkpoint-layout';
import { hasShardIndex, OptimizerShardReader, SHARD_INDEX, writeOptimizerShard, writeShardIndex, type OptimizerShard } from './optimizer-shards';
import { BAD_SAFETENSORS } from '../io/safetensors-file';
import type { Communicator } from '../parallel/comm';

export interface OptimizerLike {
  stateDict(): { step: number; params: Record<string, ParamStateDict> };
  loadStateDict(d: { step: number; params: Record<string, ParamStateDict> }): void;
}

export interface TrainerState {
  step: number;
  tokens: number;
  seed: number;
  [key: string]: unknown;
}

/** The checkpoint folder a run folder or checkpoint folder stands for (see resolveRun). */
export function checkpointDir(dir: string): string {
  return resolveRun(dir).checkpoint ?? path.join(dir, LATEST);
}

export type OptimizerStateDict = { step: number; params: Record<string, ParamStateDict> };

export interface SaveOptions {
  /** Complete checkpoints to keep (the new one included); 0 keeps all. */
  keep?: number;
  /** Extra files written into the checkpoint (name -> contents), e.g. tokenizer.json. */
  files?: Record<string, string>;
}

export function saveCheckpoint(runDir: string, model: MoonlightModel, dict: OptimizerStateDict, state: TrainerState, options: SaveOptions = {}): string {
  const stop = startSave();
  const tmp = path.join(runDir, `.checkpoint-${state.step}.tmp-${process.pid}`);
  fs.rmSync(tmp, { recursive: true, force: true });
  try {
    fs.mkdirSync(tmp, { recursive: true });
    stop(1);
    model.save(tmp);
    stop(2);
    writeOptimizerState(tmp, model, dict);
    finishCheckpoint(tmp, state, options, stop);
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  return publishCheckpoint(runDir, tmp, state.step, options.keep ?? 3, stop);
}

/**
 * A checkpoint of a ZeRO-1 run, a collective (every rank calls it): rank 0 writes the model and
 * optimizer.index.json while every rank writes its own optimizer shard (optimizer-shards.ts); a
 * barrier that carries every rank's outcome follows, and only when every shard is complete does
 * rank 0 write trainer.json and publish the folder. A rank that fails makes every rank throw
 * (ENOSPC on all of them for a full disk, so that they all go on or all stop). Returns the
 * checkpoint folder on rank 0, null on the others.
 */
export function saveShardedCheckpoint(runDir: string, model: MoonlightModel, shard: OptimizerShard, comm: Pick<Communicator, 'rank' | 'allReduceNumbers'>, state: TrainerState, options: SaveOptions = {}): string | null {
  const rank = comm.rank;
  const stop = startSave(rank);
  let error: unknown;
  // Rank 0 makes the temporary folder, named after its pid, which every rank learns.
  if (rank === 0) {
    try {
      const tmp = path.join(runDir, `.checkpoint-${state.step}.tmp-${process.pid}`);
      fs.rmSync(tmp, { recursive: true, force: true });
      fs.mkdirSync(tmp, { recursive: true });
    } catch (e) {
      error = e;
    }
  }
  const [pid, made] = comm.allReduceNumbers(Float64Array.of(rank === 0 ? process.pid : 0, outcome(error)), 'max');
  if (made) throw error ?? rankFailed(0, made);
  const tmp = path.join(runDir, `.checkpoint-${state.step}.tmp-${pid}`);
  stop(1);
  try {
    if (rank === 0) {
      model.save(tmp);
      stop(2);
      writeShardIndex(tmp, shard);
    }
    writeOptimizerShard(tmp, shard);
    if (rank !== 0) stop(2);
  } catch (e) {
    error = e;
  }
  const [status, who] = comm.allReduceNumbers(Float64Array.of(outcome(error), error ? rank + 1 : 0), 'max');
  if (status) {
    if (rank === 0) fs.rmSync(tmp, { recursive: true, force: true });
    throw error ?? rankFailed(who - 1, status);
  }
  if (rank !== 0) return null;
  try {
    finishCheckpoint(tmp, state, options, stop);
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  return publishCheckpoint(runDir, tmp, state.step, options.keep ?? 3, stop);
}

/** A rank's outcome for the others: 0 done, 1 no space left, 2 another failure. */
function outcome(e: unknown): number {
  if (e === undefined) return 0;
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'ENOSPC' || code === 'EDQUOT' ? 1 : 2;
}

function rankFailed(rank: number, status: number): Error {
  const why = status === 1 ? 'no space left on the device' : 'see that rank\'s error';
  return Object.assign(new Error(`rank ${rank} could not write its part of the checkpoint (${why})`), { code: status === 1 ? 'ENOSPC' : 'ERR_MOONTRAIN_CHECKPOINT_FAILED' });
}

/** The single-process optimizer state as optimizer.safetensors (tensors '<param>:<field>'). */
function writeOptimizerState(dir: string, model: MoonlightModel, dict: OptimizerStateDict): void {
  const tensors = new Map<string, Tensor>();
  for (const [name, s] of Object.entries(dict.params)) {
    const shape = model.namedParameters().find(([n]) => n === name)?.[1].value.shape ?? [];
    const put = (key: string, a: Float32Array) => tensors.set(`${name}:${key}`, tensor(a, shape.length ? shape : [a.length]));
    if (s.master) put('master', s.master);
    for (const [k, a] of Object.entries(s.buffers)) put(k, a);
  }
  try {
    saveSafetensors(path.join(dir, 'optimizer.safetensors'), tensors, { step: String(dict.step), ...checksumMetadata(tensors) });
  } finally {
    for (const t of tensors.values()) t.dispose();
  }
}

/** The extra files, then trainer.json, which marks the folder complete. */
function finishCheckpoint(tmp: string, state: TrainerState, options: SaveOptions, stop: (k: number) => void): void {
  for (const [name, text] of Object.entries(options.files ?? {})) writeFileAtomic(path.join(tmp, name), text);
  stop(3);
  writeFileAtomic(path.join(tmp, 'trainer.json'), JSON.stringify(state, null, 1));
  stop(4);
}

export function readTrainerState(dir: string): TrainerState {
  const file = path.join(checkpointDir(dir), 'trainer.json');
  if (!fs.existsSync(file)) {
    const e = new Error(`no checkpoint in ${dir} (expected ${file})`) as Error & { code: string };
    e.code = 'ERR_MOONTRAIN_NO_CHECKPOINT';
    throw e;
  }
  let state: TrainerState;
  try {
    state = JSON.parse(fs.readFileSync(file, 'utf8')) as TrainerState;
  } catch (e) {
    throw badCheckpoint(`${file}: not valid JSON (${(e as Error).message}); the file is truncated or damaged`);
  }
  const missing = ['step', 'tokens', 'seed'].filter((k) => state === null || typeof state !== 'object' || state[k] === undefined);
  if (missing.length || !Number.isInteger(state.step) || !Number.isInteger(state.tokens)) {
    throw badCheckpoint(`${file}: incomplete trainer state (expected step, tokens and seed${missing.length ? `; missing ${missing.join(', ')}` : ''})`);
  }
  return state;
}

export function badCheckpoint(message: string): Error & { code: string } {
  return Object.assign(new Error(message), { code: 'ERR_MOONTRAIN_BAD_CHECKPOINT' });
}

/**
 * Loads the optimizer state of a checkpoint: a sharded one (written by any number of ranks) on
 * any number of ranks, each ZeRO rank reading only its slice, or the whole state for one process;
 * or the single-file optimizer.safetensors of a one-process run (or of an older ZeRO run).
 */
export function loadOptimizerState(dir: string, optimizer: OptimizerLike & { loadShards?(reader: OptimizerShardReader): void }): void {
  const ck = checkpointDir(dir);
  if (hasShardIndex(ck)) {
    const reader = new OptimizerShardReader(ck);
    try {
      if (optimizer.loadShards) optimizer.loadShards(reader);
      else optimizer.loadStateDict(reader.stateDict());
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code === 'ERR_MOONTRAIN_BAD_CHECKPOINT' || code === BAD_SAFETENSORS) throw e;
      throw badCheckpoint(`${path.join(ck, SHARD_INDEX)}: the optimizer state does not fit this model and optimizer: ${(e as Error).message}`);
    } finally {
      reader.close();
    }
    return;
  }
  const file = path.join(ck, 'optimizer.safetensors');
  const { tensors, metadata } = loadSafetensors(file);
  try {
    verifyTensors(file, tensors, metadata);
  } catch (e) {
    for (const t of tensors.values()) t.dispose();
    throw e;
  }
  const params: Record<string, ParamStateDict> = {};
  for (const [key, t] of tensors) {
    const cut = key.lastIndexOf(':');
    const name = key.slice(0, cut), field = key.slice(cut + 1);
    const entry = (params[name] ??= { buffers: {} });
    if (field === 'master') entry.master = t.toFloat32Array();
    else entry.buffers[field] = t.toFloat32Array();
    t.dispose();
  }
  try {
    optimizer.loadStateDict({ step: Number(metadata.step ?? 0), params });
  } catch (e) {
    throw badCheckpoint(`${file}: the optimizer state does not fit this model and optimizer: ${(e as Error).message}`);
  }
}
