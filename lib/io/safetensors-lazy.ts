// A checkpoint's tensors read on demand: the names come from the file's header or the sharded
// index, and each get() reads only the tensors asked for, so a model loads with about one copy
// of its weights in memory instead of the whole checkpoint plus the model. Each tensor is checked
// as it is read: finite, and its CRC-32 where moontrain recorded one (lib/io/checksum.ts).
import * as fs from 'fs';
import * as path from 'path';
import type { DType, Tensor } from '../../types/core';
import { verifyTensors } from './checksum';
import { loadSafetensorsDir, readSafetensorsHeader } from './safetensors';
import { ops } from '../ops';

export interface LazyTensors {
  readonly where: string;
  readonly names: ReadonlySet<string>;
  /** Loads these tensors, converted to dtype (the caller disposes them). */
  get(names: string[], dtype: DType): Map<string, Tensor>;
}

const INDEX_NAME = 'model.safetensors.index.json';
const SINGLE_NAME = 'model.safetensors';

function namesOf(dirOrFile: string): string[] {
  const isDir = fs.statSync(dirOrFile).isDirectory();
  const single = isDir ? path.join(dirOrFile, SINGLE_NAME) : dirOrFile;
  const index = isDir ? path.join(dirOrFile, INDEX_NAME) : dirOrFile;
  if (!index.endsWith('.index.json') || (isDir && fs.existsSync(single))) return readSafetensorsHeader(single).entries.map((e) => e.name);
  // The index is validated by loadSafetensorsDir on the first get(); here only its names are read.
  const map = (JSON.parse(fs.readFileSync(index, 'utf8')) as { weight_map?: Record<string, unknown> }).weight_map;
  return map && typeof map === 'object' ? Object.keys(map) : [];
}

/** The tensors of a checkpoint directory (model.safetensors or a sharded index) or file, read on demand. */
export function openLazyTensors(dirOrFile: string): LazyTensors {
  let names: string[];
  try {
    names = namesOf(dirOrFile);
  } catch {
    // Let the loader name what is wrong with the files.
    names = [...loadSafetensorsDir(dirOrFile, { names: [] }).tensors.keys()];
  }
  const single = fs.statSync(dirOrFile).isDirectory() ? path.join(dirOrFile, SINGLE_NAME) : dirOrFile;
  const where = fs.existsSync(single) ? single : dirOrFile;
  return {
    where: dirOrFile,
    names: new Set(names),
    get: (wanted, dtype) => {
      // Read as stored, so that the checksums moontrain recorded can be verified, then converted.
      const { tensors, metadata } = loadSafetensorsDir(dirOrFile, { names: wanted });
      try {
        verifyTensors(where, tensors, metadata);
        for (const [name, t] of tensors) {
          if (t.dtype === dtype) continue;
          tensors.set(name, ops.copy(t, { dtype }));
          t.dispose();
        }
        return tensors;
      } catch (e) {
        for (const t of tensors.values()) t.dispose();
        throw e;
      }
    },
  };
}
