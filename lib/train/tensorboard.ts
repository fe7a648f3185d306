// TensorBoard event files written directly: TFRecord framing (length, masked CRC-32C of the
// length, data, masked CRC-32C of the data) around Event protocol buffers holding scalar
// summaries (Summary.Value.simple_value), the format TensorBoard's own readers take.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const CRC32C_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; ++n) {
    let c = n;
    for (let k = 0; k < 8; ++k) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32C (Castagnoli), as TFRecord uses. */
export function crc32c(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; ++i) c = CRC32C_TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** TFRecord's masked CRC: rotated right by 15 bits plus a constant. */
export function maskedCrc32c(bytes: Uint8Array): number {
  const c = crc32c(bytes);
  return ((((c >>> 15) | (c << 17)) >>> 0) + 0xa282ead8) >>> 0;
}

/** A minimal protocol-buffer writer: the wire types events need. */
class Proto {
  private parts: number[] = [];
  private varint(v: number | bigint): void {
    let x = BigInt(v);
    if (x < 0n) x += 1n << 64n;
    do {
      const byte = Number(x & 0x7fn);
      x >>= 7n;
      this.parts.push(x > 0n ? byte | 0x80 : byte);
    } while (x > 0n);
  }
  double(field: number, v: number): this {
    this.varint((field << 3) | 1);
    const b = Buffer.alloc(8);
    b.writeDoubleLE(v);
    this.parts.push(...b);
    return this;
  }
  float(field: number, v: number): this {
    this.varint((field << 3) | 5);
    const b = Buffer.alloc(4);
    b.writeFloatLE(v);
    this.parts.push(...b);
    return this;
  }
  int64(field: number, v: number): this {
    this.varint(field << 3);
    this.varint(v);
    return this;
  }
  bytes(field: number, v: Uint8Array | string): this {
    const data = typeof v === 'string' ? Buffer.from(v, 'utf8') : v;
    this.varint((field << 3) | 2);
    this.varint(data.length);
    this.parts.push(...data);
    return this;
  }
  finish(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

/** One TFRecord: length, its masked CRC, the data, the data's masked CRC. */
export function tfRecord(data: Uint8Array): Uint8Array {
  const head = Buffer.alloc(12);
  head.writeBigUInt64LE(BigInt(data.length), 0);
  head.writeUInt32LE(maskedCrc32c(head.subarray(0, 8)), 8);
  const tail = Buffer.alloc(4);
  tail.writeUInt32LE(maskedCrc32c(data), 0);
  return Buffer.concat([head, data, tail]);
}

/** Event { wall_time = 1, step = 2, file_version = 3 | summary = 5 { value = 1 { tag = 1, simple_value = 2 } } }. */
export function scalarsEvent(step: number, scalars: Record<string, number>, wallTime = Date.now() / 1000): Uint8Array {
  const summary = new Proto();
  for (const [tag, value] of Object.entries(scalars)) summary.bytes(1, new Proto().bytes(1, tag).float(2, value).finish());
  return new Proto().double(1, wallTime).int64(2, step).bytes(5, summary.finish()).finish();
}

/** Appends scalar events to `<dir>/events.out.tfevents.<seconds>.<host>`, one file per writer. */
export class TensorBoardWriter {
  readonly file: string;
  private readonly fd: number;

  constructor(dir: string) {
    fs.mkdirSync(dir, { recursive: true });
    this.file = path.join(dir, `events.out.tfevents.${Math.floor(Date.now() / 1000)}.${os.hostname()}.${process.pid}`);
    this.fd = fs.openSync(this.file, 'a');
    const version = new Proto().double(1, Date.now() / 1000).bytes(3, 'brain.Event:2').finish();
    fs.writeSync(this.fd, tfRecord(version));
  }

  /** Writes the finite values among `scalars` at `step` (a metric that is absent or not a number is skipped). */
  scalars(step: number, scalars: Record<string, number | undefined>): void {
    const finite = Object.fromEntries(Object.entries(scalars).filter((e): e is [string, number] => typeof e[1] === 'number' && Number.isFinite(e[1])));
    if (Object.keys(finite).length > 0) fs.writeSync(this.fd, tfRecord(scalarsEvent(step, finite)));
  }

  close(): void {
    fs.fsyncSync(this.fd);
    fs.closeSync(this.fd);
  }
}
