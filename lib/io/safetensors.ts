// safetensors reader and writer (the Hugging Face format), written here with no dependency.
//
// File = 8-byte little-endian u64 N, N bytes of UTF-8 JSON header, then the byte buffer.
// Header: { "<name>": { "dtype", "shape", "data_offsets": [begin, end) }, ..., "__metadata__"?: {string: string} }
// with offsets relative to the start of the byte buffer; the tensors must cover the buffer exactly
// (no holes, no overlaps). See docs/anchors.md B4 and huggingface/safetensors `tensor.rs`.
//
// Reading never pulls a whole file into memory: the header is read first, then each tensor's byte
// range on its own, in chunks, so a sharded multi-GB checkpoint streams tensor by tensor. Every
// problem with a file is an Error with code 'ERR_MOONTRAIN_BAD_SAFETENSORS' that names the file
// (and the tensor, when one is to blame); bad arguments are moontrain's usual invalid-argument
// Errors.
import * as fs from 'fs';
import { withAtomicFile, writeAll } from './atomic';
import * as os from 'os';
import * as path from 'path';
import type {
  DType,
  LoadSafetensorsOptions,
  RawTensor,
  RawTensorData,
  SafetensorsContents,
  SafetensorsDType,
  SafetensorsEntry,
  SafetensorsHeader,
} from '../../types/core';
import { Tensor, tensor } from '../tensor';

export const BAD_SAFETENSORS = 'ERR_MOONTRAIN_BAD_SAFETENSORS';
const INVALID_ARGUMENT = 'ERR_MOONTRAIN_INVALID_ARGUMENT';

/** The reference parser's limit on the JSON header. */
export const MAX_HEADER_BYTES = 100_000_000;

/** Bits per element of every dtype the format defines (sub-byte ones included). */
const DTYPE_BITS: Readonly<Record<SafetensorsDType, number>> = {
  BOOL: 8,
  U8: 8,
  I8: 8,
  F8_E5M2: 8,
  F8_E4M3: 8,
  F8_E8M0: 8,
  I16: 16,
  U16: 16,
  F16: 16,
  BF16: 16,
  I32: 32,
  U32: 32,
  F32: 32,
  I64: 64,
  U64: 64,
  F64: 64,
  C64: 64,
  F4: 4,
  F6_E2M3: 6,
  F6_E3M2: 6,
};

/** Dtypes that load as moontrain Tensors (everything else needs { raw: true }). */
const FLOAT_DTYPES: readonly SafetensorsDType[] = ['F32', 'BF16', 'F16', 'F64'];

// Chunk size of reads and conversions; a test hook can lower it to exercise the chunk loops.
let chunkBytes = 16 * 1024 * 1024;

/** For tests: the chunk size of reads and conversions (rounded down to a multiple of 8, at least 8). */
export function _setChunkBytesForTests(n: number): number {
  const prev = chunkBytes;
  chunkBytes = Math.max(8, Math.floor(n / 8) * 8);
  return prev;
}

// ---------------------------------------------------------------------------------------------
// errors
// ---------------------------------------------------------------------------------------------

function quote(name: string): string {
  return `'${name}'`;
}

/** An Error about a file's contents: `safetensors: <file>: tensor '<name>': <what>`. */
function bad(file: string, name: string | undefined, what: string, cause?: unknown): Error {
  const where = name === undefined ? '' : `tensor ${quote(name)}: `;
  const e = new Error(`safetensors: ${file}: ${where}${what}`, cause === undefined ? undefined : { cause });
  return Object.assign(e, { code: BAD_SAFETENSORS, file, tensor: name });
}

/** moontrain's invalid-argument Error: `<op>: argument '<argument>': expected <what>, got <got>`. */
function invalid(op: string, argument: string, expected: string, got: string): Error {
  const e = new Error(`${op}: argument '${argument}': expected ${expected}, got ${got}`);
  return Object.assign(e, { code: INVALID_ARGUMENT, op, argument });
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v)}`;
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${String(v)}`;
}

function checkLittleEndian(op: string): void {
  if (os.endianness() !== 'LE') throw new Error(`${op}: safetensors I/O needs a little-endian host`);
}

// ---------------------------------------------------------------------------------------------
// low-level file access
// ---------------------------------------------------------------------------------------------

/** Opens a file for reading; a failure is a BAD_SAFETENSORS Error that keeps the fs error as cause. */
function openForRead(file: string, what = 'cannot open'): { fd: number; size: number } {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (e) {
    throw bad(file, undefined, `${what}: ${(e as Error).message}`, e);
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw bad(file, undefined, 'not a regular file');
    return { fd, size: st.size };
  } catch (e) {
    fs.closeSync(fd);
    throw e;
  }
}

/** Fills `into` from the file at `position`, in chunks; a short file is an Error, never a short read. */
function readExact(fd: number, into: Uint8Array, position: number, file: string, name: string | undefined): void {
  let done = 0;
  while (done < into.length) {
    const len = Math.min(into.length - done, 1 << 30);
    let n: number;
    try {
      n = fs.readSync(fd, into, done, len, position + done);
    } catch (e) {
      throw bad(file, name, `read failed at byte ${position + done}: ${(e as Error).message}`, e);
    }
    if (n === 0) {
      throw bad(file, name, `the file ended at byte ${position + done}, before byte ${position + into.length} (did it change while being read?)`);
    }
    done += n;
  }
}

// ---------------------------------------------------------------------------------------------
// header
// ---------------------------------------------------------------------------------------------

interface ParsedHeader extends SafetensorsHeader {
  /** Length of the byte buffer (file size - dataStart). */
  bufferBytes: number;
  /** Entries by name. */
  byName: Map<string, SafetensorsEntry & { bytes: number; numel: number }>;
}

/**
 * The keys of every JSON object in `text` (already known to be valid JSON), checked for
 * duplicates (JSON.parse silently keeps the last one; the format forbids them). Returns the
 * top-level keys in file order (JSON.parse's own order moves integer-like keys first).
 */
function scanKeys(text: string, file: string): string[] {
  const top: string[] = [];
  const stack: (Set<string> | null)[] = [];
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 0x7b /* { */) {
      stack.push(new Set());
      i++;
    } else if (c === 0x5b /* [ */) {
      stack.push(null);
      i++;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop();
      i++;
    } else if (c === 0x22 /* " */) {
      const start = i;
      i++;
      while (i < n) {
        const d = text.charCodeAt(i);
        if (d === 0x5c /* \ */) i += 2;
        else if (d === 0x22) break;
        else i++;
      }
      i++; // past the closing quote
      let j = i;
      while (j < n && (text[j] === ' ' || text[j] === '\t' || text[j] === '\n' || text[j] === '\r')) j++;
      const keys = stack[stack.length - 1];
      if (text[j] === ':' && keys) {
        const key = JSON.parse(text.slice(start, i)) as string;
        if (keys.has(key)) {
          // a repeated tensor name blames that name; a repeated field blames its entry
          const tensorName = stack.length === 1 ? key : stack.length === 2 ? top[top.length - 1] : undefined;
          throw bad(file, tensorName === '__metadata__' ? undefined : tensorName, `duplicate key ${JSON.stringify(key)} in the header`);
        }
        keys.add(key);
        if (stack.length === 1) top.push(key);
      }
    } else {
      i++;
    }
  }
  return top;
}

function parseHeaderText(text: string, file: string, bufferBytes: number, dataStart: number): ParsedHeader {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw bad(file, undefined, `the header is not valid JSON (${(e as Error).message})`, e);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw bad(file, undefined, `the header must be a JSON object, got ${describe(json)}`);
  }
  const keys = scanKeys(text, file);
  const obj = json as Record<string, unknown>;

  let metadata: Record<string, string> = {};
  const entries: (SafetensorsEntry & { bytes: number; numel: number; order: number })[] = [];
  for (const name of keys) {
    const v = obj[name];
    if (name === '__metadata__') {
      metadata = parseMetadata(v, file);
      continue;
    }
    entries.push({ ...parseEntry(name, v, file, bufferBytes), order: entries.length });
  }

  // The tensors, sorted by offset, must tile [0, bufferBytes) exactly.
  const sorted = entries.slice().sort((a, b) => a.offsets[0] - b.offsets[0] || a.offsets[1] - b.offsets[1] || a.order - b.order);
  let pos = 0;
  let prev: (typeof sorted)[number] | undefined;
  for (const e of sorted) {
    const [b, end] = e.offsets;
    if (b < pos) {
      throw bad(file, e.name, `data_offsets [${b}, ${end}] overlap tensor ${quote(prev!.name)} at [${prev!.offsets[0]}, ${prev!.offsets[1]}]`);
    }
    if (b > pos) {
      throw bad(file, e.name, `bytes [${pos}, ${b}) of the byte buffer before this tensor belong to no tensor (the format forbids holes)`);
    }
    pos = end;
    prev = e;
  }
  if (pos !== bufferBytes) {
    const what = `bytes [${pos}, ${bufferBytes}) at the end of the byte buffer belong to no tensor (the format forbids holes)`;
    throw bad(file, prev?.name, what);
  }

  const byName = new Map<string, SafetensorsEntry & { bytes: number; numel: number }>();
  const out: SafetensorsEntry[] = [];
  for (const e of sorted) {
    const entry = { name: e.name, dtype: e.dtype, shape: e.shape, offsets: e.offsets };
    out.push(entry);
    byName.set(e.name, { ...entry, bytes: e.bytes, numel: e.numel });
  }
  return { entries: out, metadata, dataStart, bufferBytes, byName };
}

function parseMetadata(v: unknown, file: string): Record<string, string> {
  if (v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) {
    throw bad(file, undefined, `'__metadata__' must be an object of strings, got ${describe(v)}`);
  }
  const out: [string, string][] = [];
  for (const [k, s] of Object.entries(v as Record<string, unknown>)) {
    if (typeof s !== 'string') throw bad(file, undefined, `'__metadata__' must map strings to strings; key ${JSON.stringify(k)} holds ${describe(s)}`);
    out.push([k, s]);
  }
  return Object.fromEntries(out);
}

function parseEntry(
  name: string,
  v: unknown,
  file: string,
  bufferBytes: number,
): SafetensorsEntry & { bytes: number; numel: number } {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw bad(file, name, `the header entry must be an object {dtype, shape, data_offsets}, got ${describe(v)}`);
  }
  const o = v as Record<string, unknown>;
  for (const k of ['dtype', 'shape', 'data_offsets']) {
    if (!Object.prototype.hasOwnProperty.call(o, k)) throw bad(file, name, `the header entry has no '${k}'`);
  }
  const dtype = o.dtype;
  if (typeof dtype !== 'string') throw bad(file, name, `'dtype' must be a string, got ${describe(dtype)}`);
  if (!Object.prototype.hasOwnProperty.call(DTYPE_BITS, dtype)) {
    throw bad(file, name, `unknown dtype ${JSON.stringify(dtype)} (known: ${Object.keys(DTYPE_BITS).join(', ')})`);
  }
  const bits = DTYPE_BITS[dtype as SafetensorsDType];

  const shape = o.shape;
  if (!Array.isArray(shape) || !shape.every((d) => typeof d === 'number' && Number.isSafeInteger(d) && d >= 0)) {
    throw bad(file, name, `'shape' must be an array of non-negative integers, got ${JSON.stringify(shape)}`);
  }
  let numelBig = 1n;
  for (const d of shape as number[]) numelBig *= BigInt(d);
  const bitsBig = numelBig * BigInt(bits);
  if (numelBig > BigInt(Number.MAX_SAFE_INTEGER) || bitsBig / 8n > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw bad(file, name, `shape ${JSON.stringify(shape)} has ${numelBig} elements, more than can be addressed (2^53)`);
  }
  if (bitsBig % 8n !== 0n) {
    throw bad(file, name, `shape ${JSON.stringify(shape)} of ${dtype} (${bits} bits each) is not a whole number of bytes`);
  }
  const bytes = Number(bitsBig / 8n);

  const offs = o.data_offsets;
  if (
    !Array.isArray(offs) ||
    offs.length !== 2 ||
    !offs.every((x) => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0) ||
    offs[0] > offs[1]
  ) {
    throw bad(file, name, `'data_offsets' must be [begin, end] with integers 0 <= begin <= end, got ${JSON.stringify(offs)}`);
  }
  const [b, e] = offs as [number, number];
  if (e > bufferBytes) {
    throw bad(file, name, `data_offsets [${b}, ${e}] end beyond the byte buffer (${bufferBytes} bytes; is the file truncated?)`);
  }
  if (e - b !== bytes) {
    throw bad(file, name, `data_offsets [${b}, ${e}] hold ${e - b} bytes, but shape ${JSON.stringify(shape)} of ${dtype} needs ${bytes}`);
  }
  return { name, dtype: dtype as SafetensorsDType, shape: (shape as number[]).slice(), offsets: [b, e], bytes, numel: Number(numelBig) };
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function readHeaderFd(fd: number, size: number, file: string): ParsedHeader {
  if (size < 8) throw bad(file, undefined, `the file is ${size} bytes, shorter than the 8-byte header length`);
  const lenBuf = new Uint8Array(8);
  readExact(fd, lenBuf, 0, file, undefined);
  const n = Buffer.from(lenBuf.buffer).readBigUInt64LE(0);
  if (n === 0n) throw bad(file, undefined, 'the header length is 0');
  if (n > BigInt(MAX_HEADER_BYTES)) {
    throw bad(file, undefined, `the header length ${n} is over the ${MAX_HEADER_BYTES}-byte limit`);
  }
  const headerBytes = Number(n);
  if (8 + headerBytes > size) {
    throw bad(file, undefined, `the header length ${headerBytes} runs past the end of the file (${size} bytes)`);
  }
  const raw = new Uint8Array(headerBytes);
  readExact(fd, raw, 8, file, undefined);
  let text: string;
  try {
    text = utf8.decode(raw);
  } catch (e) {
    throw bad(file, undefined, 'the header is not valid UTF-8', e);
  }
  return parseHeaderText(text, file, size - 8 - headerBytes, 8 + headerBytes);
}

/** The header of a safetensors file, validated; entries in the order of their data in the file. */
export function readSafetensorsHeader(file: string): SafetensorsHeader {
  if (typeof file !== 'string' || file === '') throw invalid('readSafetensorsHeader', 'file', 'a path', describe(file));
  checkLittleEndian('readSafetensorsHeader');
  const { fd, size } = openForRead(file);
  try {
    const h = readHeaderFd(fd, size, file);
    return { entries: h.entries, metadata: h.metadata, dataStart: h.dataStart };
  } finally {
    fs.closeSync(fd);
  }
}

// ---------------------------------------------------------------------------------------------
// element conversions
// ---------------------------------------------------------------------------------------------

let f16Table: Uint32Array | undefined;

/** float32 bit patterns of all 65536 float16 values (exact: subnormals, ±inf, NaN payloads). */
function f16ToF32Table(): Uint32Array {
  if (f16Table) return f16Table;
  const t = new Uint32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = (h & 0x8000) << 16;
    const exp = (h >> 10) & 0x1f;
    let mant = h & 0x3ff;
    let bits: number;
    if (exp === 0x1f) {
      bits = sign | 0x7f800000 | (mant << 13); // inf, or NaN with its payload
    } else if (exp !== 0) {
      bits = sign | ((exp + 112) << 23) | (mant << 13); // rebias 15 -> 127
    } else if (mant === 0) {
      bits = sign; // ±0
    } else {
      // subnormal: mant * 2^-24; normalise so the leading 1 moves to bit 10
      let e = 113; // the exponent of 2^-14 in float32, minus the shifts below
      while ((mant & 0x400) === 0) {
        mant <<= 1;
        e--;
      }
      bits = sign | (e << 23) | ((mant & 0x3ff) << 13);
    }
    t[h] = bits >>> 0;
  }
  f16Table = t;
  return t;
}

/** Reads `count` elements of `dtype` (F32, BF16, F16 or F64) from the file into float32 `out`. */
function readAsFloat32(
  fd: number,
  position: number,
  dtype: SafetensorsDType,
  out: Float32Array,
  file: string,
  name: string,
  scratch: ArrayBuffer,
): void {
  if (out.length === 0) return;
  if (dtype === 'F32') {
    const bytes = new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
    for (let done = 0; done < bytes.length; done += chunkBytes) {
      readExact(fd, bytes.subarray(done, Math.min(bytes.length, done + chunkBytes)), position + done, file, name);
    }
    return;
  }
  const size = DTYPE_BITS[dtype] / 8;
  const per = Math.floor(scratch.byteLength / size);
  const raw = new Uint8Array(scratch);
  const out32 = new Uint32Array(out.buffer, out.byteOffset, out.length);
  const table = dtype === 'F16' ? f16ToF32Table() : undefined;
  for (let i0 = 0; i0 < out.length; i0 += per) {
    const n = Math.min(per, out.length - i0);
    readExact(fd, raw.subarray(0, n * size), position + i0 * size, file, name);
    if (dtype === 'BF16') {
      const src = new Uint16Array(scratch, 0, n);
      for (let i = 0; i < n; i++) out32[i0 + i] = src[i] << 16;
    } else if (dtype === 'F16') {
      const src = new Uint16Array(scratch, 0, n);
      for (let i = 0; i < n; i++) out32[i0 + i] = table![src[i]];
    } else {
      const src = new Float64Array(scratch, 0, n);
      for (let i = 0; i < n; i++) out[i0 + i] = src[i]; // round to nearest float32
    }
  }
}

function allocRaw(dtype: SafetensorsDType, numel: number, bytes: number): RawTensorData {
  switch (dtype) {
    case 'F32':
      return new Float32Array(numel);
    case 'F64':
      return new Float64Array(numel);
    case 'I32':
      return new Int32Array(numel);
    case 'U32':
      return new Uint32Array(numel);
    case 'I16':
      return new Int16Array(numel);
    case 'U16':
    case 'F16':
    case 'BF16':
      return new Uint16Array(numel);
    case 'I64':
      return new BigInt64Array(numel);
    case 'U64':
      return new BigUint64Array(numel);
    case 'I8':
      return new Int8Array(numel);
    case 'C64':
      return new Float32Array(numel * 2);
    default:
      return new Uint8Array(bytes); // U8, BOOL, F8_*, and the packed sub-byte F4/F6
  }
}

// ---------------------------------------------------------------------------------------------
// loading
// ---------------------------------------------------------------------------------------------

interface LoadOpts {
  dtype?: DType;
  names?: string[];
  raw: boolean;
}

function checkLoadOptions(op: string, options: unknown): LoadOpts {
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

type Loaded = Tensor | RawTensor;

function disposeAll(m: Map<string, Loaded>): void {
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
      for (let done = 0; done < bytes.length; done += chunkBytes) {
        readExact(fd, bytes.subarray(done, Math.min(bytes.length, done + chunkBytes)), position + done, file, name);
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
    if (e.dtype !== 'F32' && e.numel > 0) scratch ??= new ArrayBuffer(chunkBytes);
    readAsFloat32(fd, position, e.dtype, f32, file, name, scratch!);
    const dtype: DType = opts.dtype ?? (e.dtype === 'BF16' ? 'bf16' : 'f32');
    into.set(name, tensor(f32, e.shape, { dtype }));
  }
}

function loadFile(op: string, file: string, opts: LoadOpts, into: Map<string, Loaded>, names?: string[], origin?: string): Record<string, string> {
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

// ---------------------------------------------------------------------------------------------
// saving
// ---------------------------------------------------------------------------------------------

/**
 * Writes tensors (in the order given) and optional string metadata to `file` as safetensors,
 * atomically: to `<file>.tmp-<pid>` (plus `-<threadId>` in a worker thread, which shares the pid),
 * fsync, rename over `file`, then fsync the directory (best effort).
 */
export function saveSafetensors(
  file: string,
  tensors: Record<string, Tensor> | Map<string, Tensor>,
  metadata?: Record<string, string>,
): void {
  const op = 'saveSafetensors';
  if (typeof file !== 'string' || file === '') throw invalid(op, 'file', 'a path', describe(file));
  checkLittleEndian(op);
  let list: [unknown, unknown][];
  if (tensors instanceof Map) list = [...tensors.entries()];
  else if (typeof tensors === 'object' && tensors !== null && !Array.isArray(tensors)) list = Object.entries(tensors);
  else throw invalid(op, 'tensors', 'a Map or an object of name -> Tensor', describe(tensors));

  const items: { name: string; t: Tensor; dtype: 'F32' | 'BF16'; bytes: number }[] = [];
  for (const [name, t] of list) {
    if (typeof name !== 'string') throw invalid(op, 'tensors', 'string tensor names', describe(name));
    if (name === '__metadata__') throw invalid(op, 'tensors', "tensor names other than '__metadata__' (reserved)", `'__metadata__'`);
    if (!(t instanceof Tensor)) throw invalid(op, `tensors['${name}']`, 'a Tensor', describe(t));
    if (t.disposed) throw invalid(op, `tensors['${name}']`, 'a live Tensor', 'a disposed Tensor');
    if (t.dtype === 'i32') throw invalid(op, `tensors['${name}']`, 'an f32 or bf16 Tensor', 'an i32 Tensor');
    const dtype = t.dtype === 'bf16' ? 'BF16' : 'F32';
    const numel = t.shape.reduce((p, q) => p * q, 1);
    items.push({ name, t, dtype, bytes: numel * (dtype === 'BF16' ? 2 : 4) });
  }
  let metaJson: string | undefined;
  if (metadata !== undefined) {
    if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) {
      throw invalid(op, 'metadata', 'an object of strings', describe(metadata));
    }
    const parts: string[] = [];
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw invalid(op, `metadata['${k}']`, 'a string', describe(v));
      parts.push(`${JSON.stringify(k)}:${JSON.stringify(v)}`);
    }
    metaJson = `{${parts.join(',')}}`;
  }

  // Header, in the reference writer's compact form, tensors in the order given.
  const parts: string[] = [];
  if (metaJson !== undefined) parts.push(`"__metadata__":${metaJson}`);
  let offset = 0;
  for (const it of items) {
    const end = offset + it.bytes;
    parts.push(`${JSON.stringify(it.name)}:{"dtype":"${it.dtype}","shape":${JSON.stringify(it.t.shape)},"data_offsets":[${offset},${end}]}`);
    offset = end;
  }
  const json = Buffer.from(`{${parts.join(',')}}`, 'utf8');
  const n = json.length + ((8 - (json.length % 8)) % 8); // so that 8 + n is a multiple of 8
  if (n > MAX_HEADER_BYTES) throw invalid(op, 'tensors', `a header of at most ${MAX_HEADER_BYTES} bytes`, `${n} bytes`);
  const head = Buffer.alloc(8 + n, 0x20);
  head.writeBigUInt64LE(BigInt(n), 0);
  json.copy(head, 8);

  withAtomicFile(file, (fd) => {
    writeAll(fd, head);
    // The tensors' own bytes: F32 and BF16 are stored as safetensors stores them (little-endian).
    for (const it of items) writeAll(fd, it.t.toBytes());
  });
}
