// A reader of TensorBoard event files written independently of the writer, for the tests: the
// TFRecord framing with both masked CRC-32Cs checked, and the Event / Summary protocol buffers.
import * as fs from 'fs';
import { crc32c } from '../../lib/train/tensorboard';

/** The masked CRC as the TFRecord format defines it. */
export const masked = (b: Uint8Array) => {
  const c = crc32c(b);
  return (((c >>> 15) | ((c << 17) >>> 0)) + 0xa282ead8) % 2 ** 32;
};

function readVarint(b: Buffer, at: number): [number, number] {
  let v = 0, shift = 0, i = at;
  for (;;) {
    const byte = b[i++]!;
    v += (byte & 0x7f) * 2 ** shift;
    shift += 7;
    if (!(byte & 0x80)) return [v, i];
  }
}

/** Fields of one protobuf message: field number -> list of raw values (numbers or sub-buffers). */
export function fields(b: Buffer): Map<number, (number | Buffer)[]> {
  const out = new Map<number, (number | Buffer)[]>();
  for (let i = 0; i < b.length; ) {
    const [key, j] = readVarint(b, i);
    const field = Math.floor(key / 8), wire = key % 8;
    let value: number | Buffer;
    if (wire === 0) [value, i] = readVarint(b, j);
    else if (wire === 1) (value = b.readDoubleLE(j)), (i = j + 8);
    else if (wire === 5) (value = b.readFloatLE(j)), (i = j + 4);
    else if (wire === 2) {
      const [n, k] = readVarint(b, j);
      value = b.subarray(k, k + n);
      i = k + n;
    } else throw new Error(`wire type ${wire}`);
    out.set(field, [...(out.get(field) ?? []), value]);
  }
  return out;
}

/** Every record's fields; throws naming the record whose length or data CRC is wrong. */
export function readRecords(file: string): Map<number, (number | Buffer)[]>[] {
  const b = fs.readFileSync(file);
  const events: Map<number, (number | Buffer)[]>[] = [];
  for (let i = 0; i < b.length; ) {
    const len = Number(b.readBigUInt64LE(i));
    if (b.readUInt32LE(i + 8) !== masked(b.subarray(i, i + 8))) throw new Error(`length CRC of the record at ${i}`);
    const data = b.subarray(i + 12, i + 12 + len);
    if (b.readUInt32LE(i + 12 + len) !== masked(data)) throw new Error(`data CRC of the record at ${i}`);
    events.push(fields(Buffer.from(data)));
    i += 16 + len;
  }
  return events;
}

/** The scalar events of a file: step, wall time and tag -> value. */
export function readScalars(file: string): { step: number; wallTime: number; scalars: Record<string, number> }[] {
  return readRecords(file).filter((e) => e.has(5)).map((e) => ({
    step: (e.get(2)?.[0] as number | undefined) ?? 0,
    wallTime: e.get(1)![0] as number,
    scalars: Object.fromEntries(fields(e.get(5)![0] as Buffer).get(1)!.map((v) => fields(v as Buffer)).map((v) => [(v.get(1)![0] as Buffer).toString(), v.get(2)![0] as number])),
  }));
}

/** Why TensorBoard's own reader cannot run here, or null when `python -c 'import tensorboard'` works. */
export function noTensorBoard(python: string): string | null {
  try {
    require('child_process').execFileSync(python, ['-c', 'import tensorboard'], { stdio: 'ignore' });
    return null;
  } catch {
    return `${python} has no tensorboard package`;
  }
}
