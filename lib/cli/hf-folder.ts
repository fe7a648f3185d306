// A plain Hugging Face model folder: config.json, model.safetensors or a sharded
// model.safetensors.index.json, and (to read or write text) tokenizer.json, as `train --init-from`
// and `eval|sample --checkpoint` read it. A folder holding a moontrain checkpoint (trainer.json)
// is a run instead.
import * as fs from 'fs';
import * as path from 'path';
import type { BpeTokenizer } from '../data/bpe';
import { parseConfig, type MoonlightConfig } from '../nn/config';
import { resolveRun } from '../train/checkpoint-layout';
import { UsageError } from './args';
import { loadCheckpointTokenizer } from './resume';

/** The tokenizer files copied verbatim into the checkpoints of a run started from a folder. */
const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json'];

export interface HfFolder {
  dir: string;
  configFile: string;
  config: MoonlightConfig;
  /** The precision its weights are saved in (config.json's torch_dtype): float32 is f32, else bf16. */
  precision: 'f32' | 'bf16';
  /** Its tokenizer.json, read; undefined when it has none. */
  tokenizer: BpeTokenizer | undefined;
  /** Its tokenizer files (name -> text), as they are. */
  tokenizerFiles: Record<string, string>;
}

const hasWeights = (dir: string) => fs.existsSync(path.join(dir, 'model.safetensors')) || fs.existsSync(path.join(dir, 'model.safetensors.index.json'));

/** True for a folder with config.json and weights and no moontrain checkpoint. */
export function isPlainHfFolder(dir: string): boolean {
  try {
    if (!fs.statSync(dir).isDirectory()) return false;
  } catch {
    return false;
  }
  return fs.existsSync(path.join(dir, 'config.json')) && hasWeights(dir) && resolveRun(dir).checkpoint === null;
}

/** Reads a Hugging Face folder; what is missing is one line naming the folder and the file. */
export function openHfFolder(dir: string, what: string): HfFolder {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new UsageError(`${what} ${dir}: not a folder`);
  const configFile = path.join(dir, 'config.json');
  if (!fs.existsSync(configFile)) throw new UsageError(`${what} ${dir}: no config.json there (a Hugging Face model folder has config.json and model.safetensors)`);
  if (!hasWeights(dir)) throw new UsageError(`${what} ${dir}: no model.safetensors or model.safetensors.index.json there`);
  const config = parseConfig(configFile);
  const dtype = (config as unknown as Record<string, unknown>).torch_dtype ?? (config as unknown as Record<string, unknown>).dtype;
  const tokenizerFiles: Record<string, string> = {};
  for (const name of TOKENIZER_FILES) {
    const file = path.join(dir, name);
    if (fs.existsSync(file)) tokenizerFiles[name] = fs.readFileSync(file, 'utf8');
  }
  return { dir, configFile, config, precision: dtype === 'float32' ? 'f32' : 'bf16', tokenizer: loadCheckpointTokenizer(dir), tokenizerFiles };
}

/** The one line for a folder without the tokenizer a command needs. */
export function tokenizerNeeded(what: string, dir: string, forWhat: string): UsageError {
  return new UsageError(`${what} ${dir}: no tokenizer.json there; a tokenizer.json (Hugging Face tokenizers format, byte-level BPE) is needed ${forWhat}`);
}
