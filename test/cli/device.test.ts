// --device and the model's device option: 'cpu' is the default; 'cuda' where it cannot be used
// is one line saying why, before the run folder is touched.
import test from 'ava';
import * as fs from 'fs';
import * as path from 'path';
import { info } from '../../lib';
import { MoonlightModel } from '../../lib/nn/model';
import { cli, microSetup } from '../helpers/cli-run';

const cuda = info().cuda;
const missing = info().ops.filter((op) => !op.backends.includes('cuda')).map((op) => op.name);

test("train --device cuda without a usable GPU (or kernels) is one line saying why, and writes nothing", (t) => {
  const { tmp, common } = microSetup('mt-device-');
  const out = path.join(tmp, 'run');
  const r = cli(['train', ...common, '--steps', '2', '--out', out, '--device', 'cuda']);
  if (cuda.available && missing.length === 0) {
    t.is(r.status, 0, r.stderr);
    t.regex(r.stderr, /, cuda \(/);
    return;
  }
  t.is(r.status, 2, r.stderr);
  const lines = r.stderr.trim().split('\n');
  t.is(lines.length, 1, r.stderr);
  const why = cuda.available ? `no CUDA kernel yet for ${missing.join(', ')}` : `no usable GPU: ${cuda.reason}`;
  t.is(lines[0], `moontrain train: device 'cuda': ${why}`);
  t.false(fs.existsSync(out));
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('train --device: anything but cpu and cuda is refused by the flag parser', (t) => {
  const { tmp, common } = microSetup('mt-device-');
  const r = cli(['train', ...common, '--steps', '2', '--out', path.join(tmp, 'run'), '--device', 'tpu']);
  t.is(r.status, 2);
  t.regex(r.stderr, /--device.*'cpu', 'cuda'|--device.*cpu.*cuda/);
  fs.rmSync(tmp, { recursive: true, force: true });
});

test("MoonlightModel's device option: 'cpu' by default, a bad value or an unusable 'cuda' is an Error", (t) => {
  const config = { ...MoonlightModel.fromPreset('tiny').config };
  const m = new MoonlightModel(config, { precision: 'f32' });
  t.is(m.device, 'cpu');
  t.true(m.parameters().every((p) => p.value.device === 'cpu'));
  t.throws(() => new MoonlightModel(config, { device: 'gpu' as never }), { message: `MoonlightModel: option 'device': expected 'cpu' or 'cuda', got "gpu"` });
  if (cuda.available && missing.length === 0) return;
  t.throws(() => new MoonlightModel(config, { device: 'cuda' }), { message: /^MoonlightModel: device 'cuda': (no usable GPU|no CUDA kernel yet)/ });
});
