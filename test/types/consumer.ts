// A consumer of the published types (compiled by `tsc -p .` in npm test, and again inside a
// fresh install by scripts/ci/test-pack.sh). Each `@ts-expect-error` line is a misuse the
// declarations must reject: if one compiles, tsc fails with "Unused '@ts-expect-error'".
import { tensor, ops, info, setNumThreads, io, nn, optim, data, train, parallel, type Tensor, type Info } from 'moontrain';

export function useTheApi(): void {
  const x: Tensor = tensor(new Float32Array(6), [2, 3], { dtype: 'bf16' });
  const y: Tensor = ops.matmul(x, x, { transB: true });
  const shape: number[] = y.shape;
  const o = ops.newtonSchulz(x, { steps: 5, coefficients: [3.4445, -4.775, 2.0315], eps: 1e-7 });
  const g = ops.groupedMatmul(x, tensor(new Float32Array(12), [2, 3, 2]), [1, 1]);
  const machine: Info = info();
  const cpuPath: 'amx' | 'avx512bf16' | 'avx512' | 'avx2' | 'scalar' = machine.isa;
  setNumThreads(2);
  io.saveSafetensors('/tmp/x.safetensors', { x });
  void [shape, o, g, cpuPath];

  const model = nn.MoonlightModel.fromPreset('tiny', { precision: 'bf16', seed: 1 });
  const counts = nn.countParameters(nn.tiny);
  const total: number = counts.total;
  const opt = new optim.Muon(model.parameters(), { lr: 3e-3, weightDecay: 0.1 });
  const adam = new optim.AdamW(model.parameters(), { lr: 1e-3, betas: [0.9, 0.95] });
  const lr: number = optim.cosineLr(10, { lr: 3e-3, warmup: 5, total: 100 });
  const loss: number = model.loss(new Int32Array(4), new Int32Array(4), [1, 4]);
  model.backward();
  opt.step();
  const batcher = new data.TokenBatcher(new Int32Array(1000), { batchSize: 2, seqLen: 8, seed: 1 });
  const b = batcher.batch(0);
  const ids: Int32Array = b.ids;
  const trainer = new train.Trainer({ model, optimizer: opt, batch: (s) => batcher.batch(s), batchSize: 2, seqLen: 8, steps: 1, seed: 1, out: '/tmp/run', lr: () => 1e-3 });
  const comm = parallel.init();
  const zero = new parallel.ZeroOptimizer(opt, comm, model.parameters());
  void [total, adam, lr, loss, ids, trainer, zero];

  // @ts-expect-error dtype is 'f32' | 'bf16'
  tensor([1], [1], { dtype: 'f16' });
  // @ts-expect-error the shape is required
  tensor([1, 2]);
  // @ts-expect-error matmul takes tensors, not arrays
  ops.matmul([1, 2], x);
  // @ts-expect-error newtonSchulz's coefficients are a triple
  ops.newtonSchulz(x, { coefficients: [1, 2] });
  // @ts-expect-error Muon's scale is 'moonlight' | 'keller' | 'none'
  new optim.Muon(model.parameters(), { lr: 1e-3, scale: 'sqrt' });
  // @ts-expect-error presets are 'tiny' | 'small' | 'moonlight-16b-a3b'
  nn.MoonlightModel.fromPreset('huge');
  // @ts-expect-error dtype is read-only
  x.dtype = 'f32';
  // @ts-expect-error tensors are made with tensor(), not new
  new (x.constructor as typeof Tensor)();
}
