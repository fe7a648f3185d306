// TensorBoard event files: CRC-32C against its published check value, every record's framing and
// masked CRCs, the scalars read back by a protocol-buffer reader of the test's own, and by
// TensorBoard's EventAccumulator where a Python tensorboard package is installed.
import test from 'ava';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { TensorBoardWriter, crc32c } from '../../lib/train/tensorboard';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-tb-'));
test.after.always(() => fs.rmSync(dir, { recursive: true, force: true }));

/** The masked CRC as the TFRecord format defines it, written out independently of the writer. */
const masked = (b: Uint8Array) => {
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
function fields(b: Buffer): Map<number, (number | Buffer)[]> {
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

test('CRC-32C matches its check value', (t) => {
  t.is(crc32c(Buffer.from('123456789')), 0xe3069283);
  t.is(crc32c(new Uint8Array(32)), 0x8a9136aa);
});

test('event files: framing, CRCs, and every scalar read back at its step', (t) => {
  const w = new TensorBoardWriter(path.join(dir, 'run'));
  const written: [number, Record<string, number>][] = [
    [0, { loss: 7.25, lr: 1e-3 }],
    [1, { loss: 6.5, lr: 2e-3, grad_norm: 0.75 }],
    [300, { val_loss: 5.125, 'moe/layer1/load_max_over_mean': 1.5 }],
  ];
  for (const [step, s] of written) w.scalars(step, s);
  w.scalars(301, { loss: Number.NaN, missing: undefined });
  w.close();
  t.regex(path.basename(w.file), /^events\.out\.tfevents\.\d+\./);
  const b = fs.readFileSync(w.file);
  const events: Map<number, (number | Buffer)[]>[] = [];
  for (let i = 0; i < b.length; ) {
    const len = Number(b.readBigUInt64LE(i));
    t.is(b.readUInt32LE(i + 8), masked(b.subarray(i, i + 8)), `length CRC of the record at ${i}`);
    const data = b.subarray(i + 12, i + 12 + len);
    t.is(b.readUInt32LE(i + 12 + len), masked(data), `data CRC of the record at ${i}`);
    events.push(fields(Buffer.from(data)));
    i += 16 + len;
  }
  t.is(events.length, 1 + written.length, 'a version event, then one per call with a finite value');
  t.is((events[0]!.get(3)![0] as Buffer).toString(), 'brain.Event:2');
  written.forEach(([step, s], k) => {
    const e = events[k + 1]!;
    t.is(e.get(2)?.[0] ?? 0, step);
    t.true(Math.abs((e.get(1)![0] as number) - Date.now() / 1000) < 60);
    const values = fields(e.get(5)![0] as Buffer).get(1)!.map((v) => fields(v as Buffer));
    t.deepEqual(Object.fromEntries(values.map((v) => [(v.get(1)![0] as Buffer).toString(), v.get(2)![0]])), Object.fromEntries(Object.entries(s).map(([k2, v]) => [k2, Math.fround(v)])));
  });
});

const python = process.env.MOONTRAIN_PYTHON ?? 'python3';
let tensorboard: string | null = null;
try {
  execFileSync(python, ['-c', 'import tensorboard'], { stdio: 'ignore' });
} catch {
  tensorboard = `${python} has no tensorboard package`;
}
(tensorboard ? test.skip : test)("TensorBoard's own reader takes the file", (t) => {
  const w = new TensorBoardWriter(path.join(dir, 'tb'));
  w.scalars(3, { loss: 4.5 });
  w.scalars(4, { loss: 4.25 });
  w.close();
  const out = execFileSync(python, ['-c', `
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
a = EventAccumulator(${JSON.stringify(path.dirname(w.file))}); a.Reload()
print([(e.step, e.value) for e in a.Scalars('loss')])`], { encoding: 'utf8' });
  t.is(out.trim(), '[(3, 4.5), (4, 4.25)]');
});
if (tensorboard) test('TensorBoard reader (skipped)', (t) => (t.log(`skipped: ${tensorboard}`), t.pass()));
