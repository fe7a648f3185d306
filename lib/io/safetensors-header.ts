// The safetensors header: read, parsed and validated (offsets, sizes, dtypes, duplicate keys).
import * as fs from 'fs';
import type { SafetensorsDType, SafetensorsEntry, SafetensorsHeader } from '../../types/core';
import { describe, invalid } from '../errors';
import { DTYPE_BITS } from './safetensors-dtype';
import { bad, checkLittleEndian, openForRead, quote, readExact } from './safetensors-file';

/** The reference parser's limit on the JSON header. */
export const MAX_HEADER_BYTES = 100_000_000;

export interface ParsedHeader extends SafetensorsHeader {
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

export function readHeaderFd(fd: number, size: number, file: string): ParsedHeader {
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
