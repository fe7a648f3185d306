// Checkpoints: RUN/checkpoint-<step>/ holds the model (Hugging Face names, safetensors,
// config.json), the optimizer state (safetensors), the tokenizer (tokenizer.json) and the trainer
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
    const tensors = new Map<string, Tensor>();
    for (const [name, s] of Object.entries(dict.params)) {
      const shape = model.namedParameters().find(([n]) => n === name)?.[1].value.shape ?? [];
      const put = (key: string, a: Float32Array) => tensors.set(`${name}:${key}`, tensor(a, shape.length ? shape : [a.length]));
      if (s.master) put('master', s.master);
      for (const [k, a] of Object.entries(s.buffers)) put(k, a);
    }
    try {
      saveSafetensors(path.join(tmp, 'optimizer.safetensors'), tensors, { step: String(dict.step), ...checksumMetadata(tensors) });
    } finally {
      for (const t of tensors.values()) t.dispose();
    }
    for (const [name, text] of Object.entries(options.files ?? {})) writeFileAtomic(path.join(tmp, name), text);
    stop(3);
    writeFileAtomic(path.join(tmp, 'trainer.json'), JSON.stringify(state, null, 1));
    stop(4);
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  return publishCheckpoint(runDir, tmp, state.step, options.keep ?? 3, stop);
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

export function loadOptimizerState(dir: string, optimizer: OptimizerLike): void {
  const file = path.join(checkpointDir(dir), 'optimizer.safetensors');
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
