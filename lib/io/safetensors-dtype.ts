// safetensors dtypes: their sizes, and the conversions of file bytes to float32 or to raw arrays.
import type { RawTensorData, SafetensorsDType } from '../../types/core';
import { chunkBytes, readExact } from './safetensors-file';

/** Bits per element of every dtype the format defines (sub-byte ones included). */
export const DTYPE_BITS: Readonly<Record<SafetensorsDType, number>> = {
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
export const FLOAT_DTYPES: readonly SafetensorsDType[] = ['F32', 'BF16', 'F16', 'F64'];

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
export function readAsFloat32(
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
    for (let done = 0; done < bytes.length; done += chunkBytes()) {
      readExact(fd, bytes.subarray(done, Math.min(bytes.length, done + chunkBytes())), position + done, file, name);
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

export function allocRaw(dtype: SafetensorsDType, numel: number, bytes: number): RawTensorData {
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
