// Checkpoints: DIR/checkpoint/ holds the model (Hugging Face names, safetensors, config.json),
// the optimizer state (safetensors) and the trainer state (trainer.json: step, tokens, seed,
// settings). A checkpoint is written to a temporary directory and swapped in by rename, so the
// last good one survives a crash, a full disk or a NaN.
import * as fs from 'fs';
import * as path from 'path';
import type { Tensor } from '../../types/core';
import { loadSafetensors, saveSafetensors } from '../io/safetensors';
import type { MoonlightModel } from '../nn/model';
import type { ParamStateDict } from '../optim/state';
import { tensor } from '../tensor';
import { writeFileAtomic } from '../io/atomic';

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

export function checkpointDir(dir: string): string {
  return fs.existsSync(path.join(dir, 'trainer.json')) ? dir : path.join(dir, 'checkpoint');
}

export type OptimizerStateDict = { step: number; params: Record<string, ParamStateDict> };

export function saveCheckpoint(runDir: string, model: MoonlightModel, dict: OptimizerStateDict, state: TrainerState): string {
  const final = path.join(runDir, 'checkpoint');
  const tmp = `${final}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { recursive: true });
  model.save(tmp);
  const tensors = new Map<string, Tensor>();
  for (const [name, s] of Object.entries(dict.params)) {
    const shape = model.namedParameters().find(([n]) => n === name)?.[1].value.shape ?? [];
    const put = (key: string, a: Float32Array) => tensors.set(`${name}:${key}`, tensor(a, shape.length ? shape : [a.length]));
    if (s.master) put('master', s.master);
    for (const [k, a] of Object.entries(s.buffers)) put(k, a);
  }
  try {
    saveSafetensors(path.join(tmp, 'optimizer.safetensors'), tensors, { step: String(dict.step) });
  } finally {
    for (const t of tensors.values()) t.dispose();
  }
  writeFileAtomic(path.join(tmp, 'trainer.json'), JSON.stringify(state, null, 1));
  const old = `${final}.old-${process.pid}`;
  if (fs.existsSync(final)) fs.renameSync(final, old);
  fs.renameSync(tmp, final);
  fs.rmSync(old, { recursive: true, force: true });
  return final;
}

export function readTrainerState(dir: string): TrainerState {
  const file = path.join(checkpointDir(dir), 'trainer.json');
  if (!fs.existsSync(file)) {
    const e = new Error(`no checkpoint in ${dir} (expected ${file})`) as Error & { code: string };
    e.code = 'ERR_MOONTRAIN_NO_CHECKPOINT';
    throw e;
  }
  return JSON.parse(fs.readFileSync(file, 'utf8')) as TrainerState;
}

export function loadOptimizerState(dir: string, optimizer: OptimizerLike): void {
  const file = path.join(checkpointDir(dir), 'optimizer.safetensors');
  const { tensors, metadata } = loadSafetensors(file);
  const params: Record<string, ParamStateDict> = {};
  for (const [key, t] of tensors) {
    const cut = key.lastIndexOf(':');
    const name = key.slice(0, cut), field = key.slice(cut + 1);
    const entry = (params[name] ??= { buffers: {} });
    if (field === 'master') entry.master = t.toFloat32Array();
    else entry.buffers[field] = t.toFloat32Array();
    t.dispose();
  }
  optimizer.loadStateDict({ step: Number(metadata.step ?? 0), params });
}
