// moontrain's API in one file: tensors and ops, then Muon on your own parameters.
// Run: node examples/api.mjs
import { tensor, ops, nn, optim, info } from 'moontrain';

console.log(`CPU path ${info().isa}, CUDA ${info().cuda.available ? 'available' : 'not available'}`);

// Tensors live in native memory; ops validate their arguments and return new tensors.
const x = tensor(Float32Array.from({ length: 4 * 8 }, () => Math.random() - 0.5), [4, 8], { dtype: 'bf16' });
const w = tensor(Float32Array.from({ length: 8 * 3 }, () => Math.random() - 0.5), [8, 3], { dtype: 'bf16' });
const y = ops.matmul(x, w);                             // [4, 3] bf16, fp32 accumulation
console.log('matmul', y.shape, y.dtype, Array.from(y.toFloat32Array(), (v) => v.toFixed(3)).join(' '));
const o = ops.newtonSchulz(x);                          // Muon's orthogonalisation, 5 steps
console.log('newtonSchulz', o.shape);
for (const t of [x, w, y, o]) t.dispose();              // frees now; a later use throws

try {
  ops.matmul(tensor([1, 2, 3, 4], [2, 2]), tensor([1, 2, 3], [3, 1]));
} catch (err) {
  console.log(`a bad call throws: ${err.message} (${err.code})`);
}

// Muon on your own parameters: fit W so that W·a = b for random a, b (least squares).
const rows = 16, cols = 32, n = 64;
const rand = (len) => Float32Array.from({ length: len }, () => Math.random() * 2 - 1);
const a = tensor(rand(cols * n), [cols, n]);
const b = tensor(rand(rows * n), [rows, n]);
const W = new nn.Parameter(tensor(new Float32Array(rows * cols), [rows, cols]), { name: 'W' });
const opt = new optim.Muon([W], { lr: 0.02, weightDecay: 0 });
let first = 0, last = 0;
for (let step = 0; step < 50; ++step) {
  const prediction = ops.matmul(W.value, a);
  const residual = ops.add(prediction, b, { alpha: -1 });  // W·a − b
  prediction.dispose();
  const r = residual.toFloat32Array();
  last = r.reduce((s, v) => s + v * v, 0) / r.length;
  if (step === 0) first = last;
  W.accumulateGrad(ops.matmul(residual, a, { transB: true }));  // d(½‖W·a − b‖²)/dW
  residual.dispose();
  opt.step();
  opt.zeroGrad();
}
console.log(`Muon: mean squared residual ${first.toFixed(3)} -> ${last.toFixed(3)}`);
if (!(last < first)) throw new Error('Muon did not reduce the loss');
