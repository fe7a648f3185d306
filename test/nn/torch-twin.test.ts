// The outside oracle: the same weights and batch through the PyTorch twin give the same loss
// and gradients (fp32, relative 1e-4). Skipped, with the reason, where Debian's python3-torch
// is not installed; its committed output is bench/results/torch-twin.json.
import test from 'ava';
import { compareWithTorch, torchAvailable, twinConfigs } from '../../bench/anchors/torch-twin-check';

const missing = torchAvailable();

for (const [label, config] of twinConfigs) {
  (missing ? test.skip : test)(`PyTorch twin agrees: ${label}`, (t) => {
    const r = compareWithTorch(label, config, 2, 24, 7);
    t.true(r.loss.rel < 1e-5, `loss ${r.loss.moontrain} vs ${r.loss.torch}`);
    t.true(Math.abs(r.auxLoss.moontrain - r.auxLoss.torch) <= 1e-6 * Math.max(1, Math.abs(r.auxLoss.torch)), `aux ${r.auxLoss.moontrain} vs ${r.auxLoss.torch}`);
    t.true(r.worstGradient.rel < 1e-4, `worst gradient ${r.worstGradient.name}: ${r.worstGradient.rel}`);
  });
}
if (missing) {
  test('PyTorch twin (skipped)', (t) => {
    t.log(`skipped: ${missing}`);
    t.pass();
  });
}
