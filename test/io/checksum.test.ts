// Integrity of checkpoint files: each records the CRC-32 of every tensor in __metadata__; a
// damaged byte or a non-finite weight is an error naming the file and the tensor, also from the CLI.
import test from 'ava';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { readSafetensorsHeader, saveSafetensors } from '../../lib/io/safetensors';
import { CHECKSUM_KEY, checksumMetadata } from '../../lib/io/checksum';
import { MoonlightModel } from '../../lib/nn/model';
import { tensor } from '../../lib/tensor';
import { loadOptimizerState } from '../../lib/train/checkpoint';
import { cli, microSetup } from '../helpers/cli-run';
import { microConfig } from '../helpers/micro-run';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-sum-'));

/** Flips one bit in the middle of a tensor's data; returns the tensor's name. */
function damage(file: string, index: number): string {
  const h = readSafetensorsHeader(file);
  const e = h.entries[index % h.entries.length]!;
  const fd = fs.openSync(file, 'r+');
  const at = h.dataStart + Math.floor((e.offsets[0] + e.offsets[1]) / 2);
  const b = Buffer.alloc(1);
  fs.readSync(fd, b, 0, 1, at);
  b[0] ^= 0x04;
  fs.writeSync(fd, b, 0, 1, at);
  fs.closeSync(fd);
  return e.name;
}

for (const precision of ['bf16', 'f32'] as const) {
  test(`a model saved in ${precision} records checksums; one flipped bit is named by file and tensor`, (t) => {
    const m = new MoonlightModel(microConfig as never, { precision, seed: 5 });
    const where = path.join(dir, precision);
    m.save(where);
    m.dispose();
    const file = path.join(where, 'model.safetensors');
    const sums = JSON.parse(readSafetensorsHeader(file).metadata[CHECKSUM_KEY]!);
    t.is(Object.keys(sums).length, readSafetensorsHeader(file).entries.length);
    MoonlightModel.load(where).dispose();
    const name = damage(file, 3);
    const e = t.throws(() => MoonlightModel.load(where), { message: /checksum mismatch/ }) as Error & { code: string };
    t.is(e.code, 'ERR_MOONTRAIN_BAD_CHECKPOINT');
    t.true(e.message.includes(file) && e.message.includes(`'${name}'`), e.message);
  });
}

test('a non-finite weight is refused on load, naming the tensor', (t) => {
  const file = path.join(dir, 'nan.safetensors');
  const ts = new Map([['good', tensor([1, 2, 3], [3])], ['bad', tensor([1, Infinity, 3], [3])]]);
  saveSafetensors(file, ts, checksumMetadata(ts));
  for (const x of ts.values()) x.dispose();
  fs.mkdirSync(path.join(dir, 'opt'), { recursive: true });
  fs.copyFileSync(file, path.join(dir, 'opt', 'optimizer.safetensors'));
  fs.writeFileSync(path.join(dir, 'opt', 'trainer.json'), '{"step":0,"tokens":0,"seed":1}');
  t.throws(() => loadOptimizerState(path.join(dir, 'opt'), { stateDict: () => ({ step: 0, params: {} }), loadStateDict: () => {} }), { message: /optimizer\.safetensors: tensor 'bad': holds NaN or infinite values/ });
});

test('eval and resume of a damaged checkpoint end with one clear line', (t) => {
  const { tmp, common } = microSetup('mt-sum-cli-');
  const run = path.join(tmp, 'run');
  t.is(cli(['train', ...common, '--steps', '2', '--out', run]).status, 0);
  const name = damage(path.join(run, 'checkpoint', 'optimizer.safetensors'), 1);
  const r = cli(['train', '--resume', run, '--steps', '3']);
  t.is(r.status, 1);
  t.regex(r.stderr, new RegExp(`optimizer\\.safetensors: tensor '${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}': checksum mismatch`));
  t.notRegex(r.stderr, /\n\s+at /, 'no stack trace');
  damage(path.join(run, 'checkpoint', 'model.safetensors'), 2);
  const ev = cli(['eval', '--checkpoint', run]);
  t.is(ev.status, 1);
  t.regex(ev.stderr, /model\.safetensors: tensor '.*': checksum mismatch/);
  t.is(ev.stderr.trim().split('\n').length, 1, ev.stderr);
});
