// Writing a safetensors file, atomically, in the reference writer's compact header form.
import { describe, invalid } from '../errors';
import { Tensor } from '../tensor';
import { withAtomicFile, writeAll } from './atomic';
import { checkLittleEndian } from './safetensors-file';
import { MAX_HEADER_BYTES } from './safetensors-header';
import { numel } from '../shape';

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
    const count = numel(t.shape);
    items.push({ name, t, dtype, bytes: count * (dtype === 'BF16' ? 2 : 4) });
  }
  let meta: Record<string, string> | undefined;
  if (metadata !== undefined) {
    if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) {
      throw invalid(op, 'metadata', 'an object of strings', describe(metadata));
    }
    for (const [k, v] of Object.entries(metadata)) if (typeof v !== 'string') throw invalid(op, `metadata['${k}']`, 'a string', describe(v));
    meta = metadata;
  }

  const head = encodeSafetensorsHeader(items.map((it) => ({ name: it.name, dtype: it.dtype, shape: it.t.shape, bytes: it.bytes })), meta);

  withAtomicFile(file, (fd) => {
    writeAll(fd, head);
    // The tensors' own bytes: F32 and BF16 are stored as safetensors stores them (little-endian).
    for (const it of items) writeAll(fd, it.t.toBytes());
  });
}

/**
 * The header of tensors stored one after another in the order given, in the reference writer's
 * compact form: the 8-byte length, the JSON, spaces up to a multiple of 8 bytes.
 */
export function encodeSafetensorsHeader(
  items: readonly { name: string; dtype: 'F32' | 'BF16'; shape: readonly number[]; bytes: number }[],
  metadata?: Record<string, string>,
): Buffer {
  const parts: string[] = [];
  if (metadata !== undefined) parts.push(`"__metadata__":{${Object.entries(metadata).map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}}`);
  let offset = 0;
  for (const it of items) {
    const end = offset + it.bytes;
    parts.push(`${JSON.stringify(it.name)}:{"dtype":"${it.dtype}","shape":${JSON.stringify(it.shape)},"data_offsets":[${offset},${end}]}`);
    offset = end;
  }
  const json = Buffer.from(`{${parts.join(',')}}`, 'utf8');
  const n = json.length + ((8 - (json.length % 8)) % 8); // so that 8 + n is a multiple of 8
  if (n > MAX_HEADER_BYTES) throw invalid('saveSafetensors', 'tensors', `a header of at most ${MAX_HEADER_BYTES} bytes`, `${n} bytes`);
  const head = Buffer.alloc(8 + n, 0x20);
  head.writeBigUInt64LE(BigInt(n), 0);
  json.copy(head, 8);
  return head;
}
