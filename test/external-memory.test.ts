// Tensors a user makes report their native bytes to V8 (so dropped ones are collected soon); the
// model's and optimizers' own intermediates, which they dispose themselves, do not (reporting
// them made V8 run a full mark-compact every training step).
import test from 'ava';
import { debug, nn, ops, optim, tensor } from '../lib';
import { native } from '../lib/native';
import { untrackedMemory } from '../lib/runtime';
import { microConfig } from './helpers/micro-run';

// Bytes reported to V8 by this addon (process.memoryUsage().external does not show them on Node 20).
const external = () => native.reportExternalMemory();
const data = new Float32Array(1 << 20);

test('a user tensor is reported while alive and unreported when disposed', (t) => {
  const before = external();
  const x = tensor(data, [1 << 20]);
  const y = ops.scale(x, 2);
  t.true(external() - before >= 8 * (1 << 20) - 4096, 'two 4 MiB tensors reported');
  x.dispose();
  y.dispose();
  t.true(Math.abs(external() - before) < 4096, 'both unreported after dispose');
});

test('untrackedMemory: tensors made inside are not reported; the setting comes back, also after a throw', (t) => {
  const before = external();
  const x = untrackedMemory(() => tensor(data, [1 << 20]));
  t.true(external() - before < 4096);
  x.dispose();
  t.true(Math.abs(external() - before) < 4096, 'disposing an unreported tensor does not unreport anything');
  t.throws(() => untrackedMemory(() => { throw new Error('boom'); }), { message: 'boom' });
  const y = tensor(data, [1 << 20]);
  t.true(external() - before >= (4 << 20) - 4096, 'reporting is back on');
  y.dispose();
});

test('a training step reports next to nothing while its activations are alive', (t) => {
  const model = new nn.MoonlightModel(microConfig, { precision: 'f32', seed: 1 });
  const opt = new optim.Muon(model.parameters(), { lr: 1e-3 });
  const n = 4 * 16;
  const ids = Int32Array.from({ length: n }, (_, i) => (i * 7) % microConfig.vocab_size);
  const live0 = debug.liveTensors().bytes, ext0 = external();
  model.loss(ids, ids, [4, 16]);
  t.true(debug.liveTensors().bytes - live0 > 16 * 1024, 'activations are alive');
  t.true(external() - ext0 < 4096, `reported ${external() - ext0} bytes`);
  model.backward();
  opt.step();
  opt.zeroGrad();
  t.true(Math.abs(external() - ext0) < 4096);
  opt.dispose();
  model.dispose();
});
