// Loading a safetensors file: each tensor's byte range on its own, in chunks, so a multi-GB
// checkpoint streams tensor by tensor.
import * as fs from 'fs';
import type { DType, LoadSafetensorsOptions, RawTensor, RawTensorData, SafetensorsContents } from '../../types/core';
import { describe, invalid } from '../errors';
import { Tensor, tensor } from '../tensor';
import { allocRaw, FLOAT_DTYPES, readAsFloat32 } from './safetensors-dtype';
import { bad, checkLittleEndian, chunkBytes, openForRead, readExact } from './safetensors-file';
import { ParsedHeader, readHeaderFd } from './safetensors-header';

export interface LoadOpts {
  dtype?: DType;
  names?: string[];
  raw: boolean;
}

export function checkLoadOptions(op: string, options: unknown): LoadOpts {
  if (options === undefined || options === null) return { raw: false };
  if (typeof options !== 'object' || Array.isArray(options)) throw invalid(op, 'options', 'an object', describe(options));
  const o = options as LoadSafetensorsOptions;
  if (o.dtype !== undefined && o.dtype !== 'f32' && o.dtype !== 'bf16') {
    throw invalid(op, 'options.dtype', "'f32', 'bf16' or undefined", describe(o.dtype));
  }
  if (o.raw !== undefined && typeof o.raw !== 'boolean') throw invalid(op, 'options.raw', 'a boolean', describe(o.raw));
  if (o.raw && o.dtype !== undefined) {
    throw invalid(op, 'options.dtype', 'no dtype with raw: true (raw data keeps the file dtype)', describe(o.dtype));
  }
  let names: string[] | undefined;
  if (o.names !== undefined) {
    if (!Array.isArray(o.names) || !o.names.every((s) => typeof s === 'string')) {
      throw invalid(op, 'options.names', 'an array of tensor names', describe(o.names));
    }
    names = [...new Set(o.names)];
  }
  return { dtype: o.dtype, names, raw: o.raw === true };
}

export type Loaded = Tensor | RawTensor;

export function disposeAll(m: Map<string, Loaded>): void {
  for (const v of m.values()) if (v instanceof Tensor) v.dispose();
}

/** Loads `names` (all in h.byName) from an open file into `into`. */
function loadEntries(
  fd: number,
  file: string,
  h: ParsedHeader,
  names: string[],
  opts: LoadOpts,
  into: Map<string, Loaded>,
): void {
  let scratch: ArrayBuffer | undefined;
  for (const name of names) {
    const e = h.byName.get(name)!;
    const position = h.dataStart + e.offsets[0];
    if (opts.raw) {
      let data: RawTensorData;
      try {
        data = allocRaw(e.dtype, e.numel, e.bytes);
      } catch (err) {
        throw bad(file, name, `${e.bytes} bytes do not fit in one typed array (${(err as Error).message})`, err);
      }
      const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      for (let done = 0; done < bytes.length; done += chunkBytes()) {
        readExact(fd, bytes.subarray(done, Math.min(bytes.length, done + chunkBytes())), position + done, file, name);
      }
      into.set(name, { dtype: e.dtype, shape: e.shape.slice(), data });
      continue;
    }
    if (!FLOAT_DTYPES.includes(e.dtype)) {
      throw bad(file, name, `dtype ${e.dtype}: only float tensors (${FLOAT_DTYPES.join(', ')}) can become Tensors; load with { raw: true } for the raw data`);
    }
    if (e.shape.length < 1 || e.shape.length > 4) {
      throw bad(file, name, `shape ${JSON.stringify(e.shape)} has rank ${e.shape.length}; moontrain Tensors have rank 1 to 4 (load with { raw: true } for the raw data)`);
    }
    let f32: Float32Array;
    try {
      f32 = new Float32Array(e.numel);
    } catch (err) {
      throw bad(file, name, `${e.numel} elements do not fit in one Float32Array (${(err as Error).message})`, err);
    }
    if (e.dtype !== 'F32' && e.numel > 0) scratch ??= new ArrayBuffer(chunkBytes());
    readAsFloat32(fd, position, e.dtype, f32, file, name, scratch!);
    const dtype: DType = opts.dtype ?? (e.dtype === 'BF16' ? 'bf16' : 'f32');
    into.set(name, tensor(f32, e.shape, { dtype }));
  }
}

export function loadFile(op: string, file: string, opts: LoadOpts, into: Map<string, Loaded>, names?: string[], origin?: string): Record<string, string> {
  const { fd, size } = openForRead(file, origin ? `cannot open the shard listed in ${origin}` : 'cannot open');
  try {
    const h = readHeaderFd(fd, size, file);
    const want = names ?? opts.names ?? h.entries.map((e) => e.name);
    for (const name of want) {
      if (!h.byName.has(name)) {
        throw bad(file, name, origin ? `no such tensor in this shard, though ${origin} maps it here` : 'no such tensor in the file');
      }
    }
    loadEntries(fd, file, h, want, opts, into);
    return h.metadata;
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Loads the tensors of a safetensors file. Default dtypes: F32 -> f32, BF16 -> bf16, F16 and
 * F64 -> f32; options.dtype converts everything to one dtype. options.names loads only those.
 */
export function loadSafetensors(file: string, options?: LoadSafetensorsOptions & { raw?: false }): SafetensorsContents<Tensor>;
export function loadSafetensors(file: string, options: LoadSafetensorsOptions & { raw: true }): SafetensorsContents<RawTensor>;
export function loadSafetensors(file: string, options?: LoadSafetensorsOptions): SafetensorsContents<Tensor | RawTensor>;
export function loadSafetensors(file: string, options?: LoadSafetensorsOptions): SafetensorsContents<Tensor | RawTensor> {
  const op = 'loadSafetensors';
  if (typeof file !== 'string' || file === '') throw invalid(op, 'file', 'a path', describe(file));
  checkLittleEndian(op);
  const opts = checkLoadOptions(op, options);
  const tensors = new Map<string, Loaded>();
  try {
    const metadata = loadFile(op, file, opts, tensors);
    return { tensors, metadata };
  } catch (e) {
    disposeAll(tensors);
    throw e;
  }
}
