// What --resume does with the flags given beside it: settings that define the run (config,
// precision, optimizer, batch size, sequence length, seed, data) must match the checkpoint's; the
// others (lr schedule, steps, intervals, out, ...) are applied and listed in one line. The run
// folder's run.json counts as flags given (the command line's win), so none need repeating.
import type { Device } from '../../types/core';
import * as fs from 'fs';
import * as path from 'path';
import { fromHfTokenizerJson } from '../data/hf-tokenizer-json';
import { resolveDataPath } from '../data/fingerprint';
import { MoonlightModel } from '../nn/model';
import type { MoonlightConfig } from '../nn/config';
import { badCheckpoint, readTrainerState, type TrainerState } from '../train/checkpoint';
import { resolveRun } from '../train/checkpoint-layout';
import { Parsed, UsageError, parseFlags } from './args';
import { settingsArgv } from './config-file';
import { readRunJson, RUN_JSON } from './run-json';
import { resolveConfig } from './info';
import { trainFlags } from './train';

const FIXED = ['config', 'precision', 'optimizer', 'batch-size', 'grad-accum', 'seq-len', 'seed', 'data', 'val-data'] as const;
/** Given only for this invocation: never listed as a change. */
const TRANSIENT = new Set(['resume', 'stop-after', 'overwrite', 'nproc', 'cache-dir', 'config-file']);

/** The run and checkpoint a path means, or a clear error when it holds none. */
export function openCheckpoint(given: string): { runDir: string; checkpoint: string; state: TrainerState } {
  const { runDir, checkpoint } = resolveRun(given);
  if (!checkpoint) readTrainerState(given); // throws "no checkpoint in ..."
  return { runDir, checkpoint: checkpoint!, state: readTrainerState(checkpoint!) };
}

/** A checkpoint's model; tensors that do not fit its config.json are one clear line. */
export function loadCheckpointModel(dir: string, precision: 'bf16' | 'f32', device: Device = 'cpu'): MoonlightModel {
  try {
    return MoonlightModel.load(dir, { precision, device });
  } catch (e) {
    if ((e as { code?: string }).code) throw e;
    throw badCheckpoint(`moontrain: the checkpoint ${dir} does not fit its config.json: ${(e as Error).message}`);
  }
}

/** The tokenizer a checkpoint carries (tokenizer.json), or undefined for one without. */
export function loadCheckpointTokenizer(dir: string) {
  const file = path.join(dir, 'tokenizer.json');
  return fs.existsSync(file) ? fromHfTokenizerJson(fs.readFileSync(file, 'utf8'), file) : undefined;
}

function sameConfig(a: MoonlightConfig, saved: Record<string, unknown>): boolean {
  return Object.entries(a).every(([k, v]) => k === 'vocab_size' || JSON.stringify(saved[k]) === JSON.stringify(v));
}

export function resumeSettings(resume: string, argv: string[]) {
  const { runDir, checkpoint, state } = openCheckpoint(resume);
  const saved = state.args as Parsed | undefined;
  if (!saved) throw badCheckpoint(`${checkpoint}/trainer.json: no training settings (args); it was not written by moontrain train`);
  const noDefaults = Object.fromEntries(Object.entries(trainFlags).map(([k, f]) => [k, { ...f, default: undefined }]));
  const given = parseFlags(argv, noDefaults, 'train');
  // run.json's settings apply as if given (below the command line's); its out and per-invocation ones do not.
  const runJson = readRunJson(runDir);
  const fromRunJson = new Set<string>();
  if (runJson) {
    const kept = Object.fromEntries(Object.entries(runJson).filter(([k]) => k !== 'out' && !TRANSIENT.has(k)));
    const file = path.join(runDir, RUN_JSON);
    const settings = parseFlags(settingsArgv(kept, noDefaults, 'train', file), noDefaults, 'train');
    for (const [k, v] of Object.entries(settings)) {
      if (v === undefined || given[k] !== undefined) continue;
      given[k] = v;
      fromRunJson.add(k);
    }
  }
  const source = (k: string) => (fromRunJson.has(k) ? ` (${RUN_JSON})` : '');
  const savedConfig = JSON.parse(fs.readFileSync(path.join(checkpoint, 'config.json'), 'utf8')) as Record<string, unknown>;
  const differ: string[] = [];
  for (const k of FIXED) {
    const v = given[k];
    if (v === undefined) continue;
    const runValue = saved[k] ?? trainFlags[k]!.default;  // a flag newer than the run: its default
    const same = (fromRunJson.has(k) && v === saved[k]) || (k === 'config' ? sameConfig(resolveConfig(v as string), savedConfig)
      : k === 'data' || k === 'val-data' ? resolveDataPath(v as string) === saved[k]
      : v === runValue);
    if (!same) differ.push(`--${k} ${v}${source(k)} (the run's: ${runValue})`);
  }
  if (differ.length) throw new UsageError(`moontrain train: --resume ${resume}: cannot change ${differ.join(', ')}; start a new run for that`);
  const args: Parsed = { ...saved };
  const changes: string[] = [];
  for (const [k, v] of Object.entries(given)) {
    if (v === undefined || (FIXED as readonly string[]).includes(k)) continue;
    if (!TRANSIENT.has(k) && k !== 'out' && v !== saved[k]) changes.push(`--${k} ${saved[k]} -> ${v}${source(k)}`);
    args[k] = v;
  }
  const out = given.out !== undefined ? path.resolve(given.out as string) : runDir;
  if (out !== runDir) changes.push(`--out ${runDir} -> ${out}`);
  for (const k of Object.keys(trainFlags)) if (args[k] === undefined && !TRANSIENT.has(k)) args[k] = trainFlags[k]!.default;
  args.out = out;
  args.resume = resume;
  args.nproc = given.nproc ?? 1;
  args['keep-checkpoints'] ??= 3;
  const config = { ...(savedConfig as unknown as MoonlightConfig) };
  return {
    args, state, runDir, checkpoint, config, inPlace: out === runDir,
    changes: changes.length ? `resume: applying ${changes.join(', ')}` : undefined,
  };
}
