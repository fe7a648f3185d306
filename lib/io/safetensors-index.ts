// Checkpoint directories: model.safetensors, or shards listed by model.safetensors.index.json.
import * as fs from 'fs';
import * as path from 'path';
import type { LoadSafetensorsOptions, RawTensor, SafetensorsContents } from '../../types/core';
import { describe, invalid } from '../errors';
import { Tensor } from '../tensor';
import { bad, checkLittleEndian } from './safetensors-file';
import { checkLoadOptions, disposeAll, Loaded, LoadOpts, loadFile, loadSafetensors } from './safetensors-read';

const INDEX_NAME = 'model.safetensors.index.json';
const SINGLE_NAME = 'model.safetensors';

/**
 * Loads a checkpoint: a .safetensors file, a directory with model.safetensors, or a directory
 * (or the index file itself) with model.safetensors.index.json listing shards.
 */
export function loadSafetensorsDir(dirOrFile: string, options?: LoadSafetensorsOptions & { raw?: false }): SafetensorsContents<Tensor>;
export function loadSafetensorsDir(dirOrFile: string, options: LoadSafetensorsOptions & { raw: true }): SafetensorsContents<RawTensor>;
export function loadSafetensorsDir(dirOrFile: string, options?: LoadSafetensorsOptions): SafetensorsContents<Tensor | RawTensor>;
export function loadSafetensorsDir(dirOrFile: string, options?: LoadSafetensorsOptions): SafetensorsContents<Tensor | RawTensor> {
  const op = 'loadSafetensorsDir';
  if (typeof dirOrFile !== 'string' || dirOrFile === '') throw invalid(op, 'dirOrFile', 'a path', describe(dirOrFile));
  checkLittleEndian(op);
  const opts = checkLoadOptions(op, options);
  let st: fs.Stats;
  try {
    st = fs.statSync(dirOrFile);
  } catch (e) {
    throw bad(dirOrFile, undefined, `cannot open: ${(e as Error).message}`, e);
  }
  let indexFile: string;
  if (st.isDirectory()) {
    const single = path.join(dirOrFile, SINGLE_NAME);
    const index = path.join(dirOrFile, INDEX_NAME);
    if (fs.existsSync(single)) return loadSafetensors(single, options);
    if (!fs.existsSync(index)) {
      throw bad(dirOrFile, undefined, `the directory has neither ${SINGLE_NAME} nor ${INDEX_NAME}`);
    }
    indexFile = index;
  } else if (dirOrFile.endsWith('.index.json')) {
    indexFile = dirOrFile;
  } else {
    return loadSafetensors(dirOrFile, options);
  }
  return loadSharded(indexFile, opts);
}

function parseIndex(indexFile: string): { weightMap: Map<string, string>; metadata: Record<string, string> } {
  let text: string;
  try {
    text = fs.readFileSync(indexFile, 'utf8');
  } catch (e) {
    throw bad(indexFile, undefined, `cannot read: ${(e as Error).message}`, e);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw bad(indexFile, undefined, `the index is not valid JSON (${(e as Error).message})`, e);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw bad(indexFile, undefined, `the index must be a JSON object, got ${describe(json)}`);
  }
  const { weight_map: wm, metadata: md } = json as Record<string, unknown>;
  if (typeof wm !== 'object' || wm === null || Array.isArray(wm)) {
    throw bad(indexFile, undefined, `'weight_map' must be an object {tensor name: shard file}, got ${describe(wm)}`);
  }
  const dir = path.dirname(indexFile);
  const weightMap = new Map<string, string>();
  for (const [name, shard] of Object.entries(wm as Record<string, unknown>)) {
    if (typeof shard !== 'string' || shard === '') {
      throw bad(indexFile, name, `'weight_map' must map the tensor to a shard file name, got ${describe(shard)}`);
    }
    const rel = path.relative(dir, path.resolve(dir, shard));
    if (path.isAbsolute(shard) || rel === '' || rel.startsWith('..')) {
      throw bad(indexFile, name, `shard ${JSON.stringify(shard)} is not a file inside the checkpoint directory`);
    }
    weightMap.set(name, shard);
  }
  // HF index metadata holds non-strings (e.g. total_size: number); they come back as strings.
  const metadata: [string, string][] = [];
  if (md !== undefined && md !== null) {
    if (typeof md !== 'object' || Array.isArray(md)) throw bad(indexFile, undefined, `'metadata' must be an object, got ${describe(md)}`);
    for (const [k, v] of Object.entries(md as Record<string, unknown>)) metadata.push([k, typeof v === 'string' ? v : JSON.stringify(v)]);
  }
  return { weightMap, metadata: Object.fromEntries(metadata) };
}

function loadSharded(indexFile: string, opts: LoadOpts): SafetensorsContents<Tensor | RawTensor> {
  const { weightMap, metadata: indexMetadata } = parseIndex(indexFile);
  const want = opts.names ?? [...weightMap.keys()];
  const byShard = new Map<string, string[]>(); // in order of first appearance
  for (const name of want) {
    const shard = weightMap.get(name);
    if (shard === undefined) throw bad(indexFile, name, "no such tensor in the index's weight_map");
    const list = byShard.get(shard);
    if (list) list.push(name);
    else byShard.set(shard, [name]);
  }
  const dir = path.dirname(indexFile);
  const loaded = new Map<string, Loaded>();
  const metadata: [string, string][] = [];
  try {
    for (const [shard, names] of byShard) {
      const md = loadFile('loadSafetensorsDir', path.join(dir, shard), opts, loaded, names, indexFile);
      metadata.push(...Object.entries(md));
    }
  } catch (e) {
    disposeAll(loaded);
    throw e;
  }
  const tensors = new Map<string, Loaded>();
  for (const name of want) tensors.set(name, loaded.get(name)!);
  metadata.push(...Object.entries(indexMetadata));
  return { tensors, metadata: Object.fromEntries(metadata) };
}
