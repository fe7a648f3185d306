// TensorBoard event files: CRC-32C against its published check value, every record's framing and
// masked CRCs, the scalars read back by a protocol-buffer reader of the test's own, and by
// TensorBoard's EventAccumulator where a Python tensorboard package is installed.
import test from 'ava';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { TensorBoardWriter, crc32c } from '../../lib/train/tensorboard';
import { fields, masked, noTensorBoard } from '../helpers/tfevents';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-tb-'));
test.after.always(() => fs.rmSync(dir, { recursive: true, force: true }));

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
const tensorboard = noTensorBoard(python);
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
