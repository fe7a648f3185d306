// One Distributed-Muon (or AdamW) step on hand-made parameters, as rank RANK of WORLD_SIZE;
// rank 0 writes the resulting parameters to argv[2] as JSON. argv[4]: the parameters' dtype.
import * as fs from 'fs';
import { nn, optim, tensor } from '../../lib';
import { init } from '../../lib/parallel/comm';
import { ZeroOptimizer } from '../../lib/parallel/zero';
import { makeParams } from './zero-params';
import { numel } from '../../lib/shape';

const [out, kind, dtype = 'f32'] = process.argv.slice(2);
const comm = init();
const params = makeParams(dtype as 'f32' | 'bf16');
const inner = kind === 'adamw' ? new optim.AdamW([], { lr: 0.01 }) : new optim.Muon([], { lr: 0.02, weightDecay: 0.1 });
const opt = new ZeroOptimizer(inner, comm, params);
const gradNorms: number[] = [];
for (let step = 0; step < 2; ++step) {
  // Each rank's gradient is a different part of the sum, so the reduce-scatter is exercised.
  params.forEach((p, i) => {
    const n = numel(p.value.shape);
    const g = Float32Array.from({ length: n }, (_, k) => Math.sin(1 + k * 0.37 + i + step) * (comm.rank + 1));
    p.grad = tensor(g, p.value.shape);
  });
  opt.step();
  gradNorms.push(opt.lastGradNorm);
  opt.zeroGrad();
}
const state = opt.stateDict();
if (comm.rank === 0) fs.writeFileSync(out, JSON.stringify({ params: params.map((p) => [p.name, Array.from(p.value.toFloat32Array())]), routing: opt.routing(), cut: (opt as unknown as { allCutUnits(): unknown[] }).allCutUnits().length, step: state.step, gradNorms }));
comm.close();
void nn;
