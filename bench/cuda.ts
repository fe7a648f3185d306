// The GPU kernels, timed on the GPU this process sees: bf16 matmul, the grouped expert GEMM under
// Zipf(1) skew and batched Newton–Schulz, on the shapes of bench/cuda-cases.json (PyTorch runs the
// same cases: bench/anchors/torch_cuda.py). Each case also checks its result: sampled entries of
// the GEMMs against float64 sums of the bf16 inputs, Newton–Schulz against the CPU backend.
import * as fs from 'fs';
import * as path from 'path';
import type { Tensor } from '../types/core';
import { ops } from '../lib/ops';
import { info } from '../lib/runtime';
import { newtonSchulzFlops } from '../lib/sweep/flops';
import { tensor } from '../lib/tensor';
import { median, randomArray } from './harness';
import { zipfGroups } from './grouped';

export interface CudaCase {
  kernel: 'matmul' | 'grouped' | 'ns';
  shape: string;
  ms: number;
  tflops: number;
  /** Largest relative error of the checked entries. */
  maxError: number;
  tolerance: number;
}

type Cases = { matmul: number[][]; grouped: number[][]; ns: number[][] };

export function cudaCases(quick: boolean): Cases & { reference: string } {
  const all = JSON.parse(fs.readFileSync(path.join(__dirname, 'cuda-cases.json'), 'utf8'));
  return quick ? { ...all.quick, reference: all.reference } : all;
}

/** Waits for the GPU's queued work: a copy of one element to the host is synchronous. */
function synchronize(t: Tensor): void {
  const one = t.reshape([t.shape.reduce((a, b) => a * b, 1)]).narrow(0, 0, 1);
  one.toFloat32Array();
  one.dispose();
}

/** Median milliseconds of `run` over `repeats` timed batches of `inner` calls, after a warm-up. */
function timeOnGpu(run: () => Tensor, repeats: number, inner: number): number {
  synchronize(run());
  const samples: number[] = [];
  for (let r = 0; r < repeats; ++r) {
    let last: Tensor | undefined;
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < inner; ++i) {
      last?.dispose();
      last = run();
    }
    synchronize(last!);
    samples.push(Number(process.hrtime.bigint() - t0) / 1e6 / inner);
    last!.dispose();
  }
  return median(samples);
}

/** Relative error of sampled entries of C = A·B (row-major, A [M,K], B [K,N]) against float64. */
function sampledGemmError(a: Float32Array, b: Float32Array, c: Float32Array, M: number, N: number, K: number, rowsOf: (i: number) => number = (i) => i, bOffset: (i: number) => number = () => 0): number {
  let worst = 0;
  for (let s = 0; s < 64; ++s) {
    const i = Math.floor(((s * 2654435761) >>> 0) % M), j = Math.floor(((s * 40503 + 17) >>> 0) % N);
    let ref = 0, scale = 0;
    for (let k = 0; k < K; ++k) {
      const p = a[rowsOf(i) * K + k] * b[bOffset(i) + k * N + j];
      ref += p;
      scale += Math.abs(p);
    }
    worst = Math.max(worst, Math.abs(c[i * N + j] - ref) / Math.max(scale, 1e-30));
  }
  return worst;
}

const bf16Values = (t: Tensor) => t.to('cpu').toFloat32Array();

export function benchCuda(repeats: number, quick: boolean): CudaCase[] {
  const gpu = info().cuda;
  if (!gpu.available) throw new Error(`bench cuda: no usable GPU: ${gpu.reason}`);
  const cases = cudaCases(quick);
  const out: CudaCase[] = [];
  const report = (c: CudaCase) => {
    out.push(c);
    console.log(`${c.kernel.padEnd(8)} ${c.shape.padEnd(26)} ${c.ms.toFixed(3)} ms  ${c.tflops.toFixed(1)} TFLOP/s  max error ${c.maxError.toExponential(2)} (${c.maxError <= c.tolerance ? 'ok' : 'FAIL'})`);
  };
  for (const [M, N, K] of cases.matmul) {
    const a = tensor(randomArray(M * K, 1), [M, K], { dtype: 'bf16', device: 'cuda' });
    const b = tensor(randomArray(K * N, 2), [K, N], { dtype: 'bf16', device: 'cuda' });
    const ms = timeOnGpu(() => ops.matmul(a, b), repeats, M * N * K > 1e10 ? 3 : 10);
    const c = ops.matmul(a, b);
    const maxError = sampledGemmError(bf16Values(a), bf16Values(b), bf16Values(c), M, N, K);
    report({ kernel: 'matmul', shape: `${M}x${N}x${K}`, ms, tflops: (2 * M * N * K) / ms / 1e9, maxError, tolerance: 1e-2 });
    for (const t of [a, b, c]) t.dispose();
  }
  for (const [E, rows, K, N] of cases.grouped) {
    const groups = zipfGroups(rows, E);
    const x = tensor(randomArray(rows * K, 4), [rows, K], { dtype: 'bf16', device: 'cuda' });
    const w = tensor(randomArray(E * K * N, 5), [E, K, N], { dtype: 'bf16', device: 'cuda' });
    const sizes = tensor(Int32Array.from(groups), [E], { dtype: 'i32', device: 'cuda' });
    const ms = timeOnGpu(() => ops.groupedMatmul(x, w, sizes), repeats, 5);
    const y = ops.groupedMatmul(x, w, sizes);
    const expertOf: number[] = [];
    groups.forEach((g, e) => { for (let i = 0; i < g; ++i) expertOf.push(e); });
    const maxError = sampledGemmError(bf16Values(x), bf16Values(w), bf16Values(y), rows, N, K, (i) => i, (i) => expertOf[i] * K * N);
    report({ kernel: 'grouped', shape: `${E}e ${rows}x${N}x${K}`, ms, tflops: (2 * rows * N * K) / ms / 1e9, maxError, tolerance: 1e-2 });
    for (const t of [x, w, sizes, y]) t.dispose();
  }
  for (const [batch, rows, cols] of cases.ns) {
    const x = tensor(randomArray(batch * rows * cols, 3), [batch, rows, cols], { dtype: 'bf16', device: 'cuda' });
    const ms = timeOnGpu(() => ops.newtonSchulz(x), repeats, 2);
    // One matrix of the batch against the CPU backend on the same bf16 input.
    const first = x.narrow(0, 0, 1).reshape([rows, cols]);
    const gpuOne = ops.newtonSchulz(first).to('cpu').toFloat32Array();
    const cpuOne = ops.newtonSchulz(first.to('cpu')).toFloat32Array();
    let num = 0, den = 0;
    for (let i = 0; i < gpuOne.length; ++i) {
      num += (gpuOne[i] - cpuOne[i]) ** 2;
      den += cpuOne[i] ** 2;
    }
    report({ kernel: 'ns', shape: `${batch}x${rows}x${cols}`, ms, tflops: newtonSchulzFlops(batch, rows, cols, 5) / ms / 1e9, maxError: Math.sqrt(num / den), tolerance: 5e-2 });
    first.dispose();
    x.dispose();
  }
  return out;
}
