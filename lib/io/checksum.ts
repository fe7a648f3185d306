// Integrity of moontrain's safetensors files: the CRC-32 of each tensor's data (as stored: f32
// bytes, or the bf16 halves), kept in __metadata__ under `moontrain_crc32` as JSON
// { name: 8 hex digits }. Loading recomputes them and checks that every value is finite; a
// mismatch names the file and the tensor.
import { crc32 } from 'zlib';
import type { Tensor } from '../../types/core';
import { ops } from '../ops';

export const CHECKSUM_KEY = 'moontrain_crc32';

/** The CRC-32 of a tensor's stored data (its own bytes), and whether all its values are finite. */
export function tensorChecksum(t: Tensor): { crc: string; finite: boolean } {
  const crc = crc32(t.toBytes()) >>> 0;
  // A sum of squares in double is finite exactly when every value is (bf16/f32 squares fit).
  return { crc: crc.toString(16).padStart(8, '0'), finite: Number.isFinite(ops.sumSquares(t)) };
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
