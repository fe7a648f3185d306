// Integrity of moontrain's safetensors files: the CRC-32 of each tensor's data (as stored: f32
// bytes, or the bf16 halves), kept in __metadata__ under `moontrain_crc32` as JSON
// { name: 8 hex digits }. Loading recomputes them and checks that every value is finite; a
// mismatch names the file and the tensor.
import { crc32 } from 'zlib';
import type { Tensor } from '../../types/core';

export const CHECKSUM_KEY = 'moontrain_crc32';
const CHUNK = 1 << 16;

/** The CRC-32 of a tensor's stored data, and whether all its values are finite. */
export function tensorChecksum(t: Tensor): { crc: string; finite: boolean } {
  const f32 = t.toFloat32Array();
  let finite = true;
  for (let i = 0; i < f32.length; i++) {
    if (!Number.isFinite(f32[i])) {
      finite = false;
      break;
    }
  }
  let crc = 0;
  if (t.dtype === 'bf16') {
    const u32 = new Uint32Array(f32.buffer, f32.byteOffset, f32.length);
    const half = new Uint16Array(Math.min(CHUNK, u32.length));
    for (let i0 = 0; i0 < u32.length; i0 += half.length) {
      const m = Math.min(half.length, u32.length - i0);
      for (let i = 0; i < m; i++) half[i] = u32[i0 + i]! >>> 16;
      crc = crc32(new Uint8Array(half.buffer, 0, m * 2), crc);
    }
  } else {
    crc = crc32(new Uint8Array(f32.buffer, f32.byteOffset, f32.byteLength));
  }
  return { crc: (crc >>> 0).toString(16).padStart(8, '0'), finite };
}

/** The metadata entry recording the checksums of `tensors`. */
export function checksumMetadata(tensors: Map<string, Tensor>): Record<string, string> {
  const sums: Record<string, string> = {};
  for (const [name, t] of tensors) sums[name] = tensorChecksum(t).crc;
  return { [CHECKSUM_KEY]: JSON.stringify(sums) };
}

function corrupt(file: string, name: string, what: string): Error & { code: string } {
  return Object.assign(new Error(`${file}: tensor '${name}': ${what}`), { code: 'ERR_MOONTRAIN_BAD_CHECKPOINT', file, tensor: name });
}

/**
 * Checks loaded tensors: every value finite and, when the metadata records checksums (files
 * moontrain wrote), each tensor's CRC-32.
 */
export function verifyTensors(file: string, tensors: Map<string, Tensor>, metadata: Record<string, string>): void {
  let sums: Record<string, string> | undefined;
  if (metadata[CHECKSUM_KEY] !== undefined) {
    try {
      sums = JSON.parse(metadata[CHECKSUM_KEY]) as Record<string, string>;
    } catch {
      throw corrupt(file, CHECKSUM_KEY, 'the recorded checksums are not valid JSON');
    }
  }
  for (const [name, t] of tensors) {
    const { crc, finite } = tensorChecksum(t);
    if (sums && sums[name] === undefined) throw corrupt(file, name, 'no checksum recorded for this tensor');
    if (sums && sums[name] !== crc) throw corrupt(file, name, `checksum mismatch (recorded crc32 ${sums[name]}, data has ${crc}): the file is damaged`);
    if (!finite) throw corrupt(file, name, 'holds NaN or infinite values');
  }
}
