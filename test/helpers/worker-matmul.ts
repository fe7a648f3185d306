// Runs inside a worker_thread (see test/workers.test.ts): loads moontrain, runs a matmul and a
// Newton-Schulz on seeded inputs, and posts back the inputs it used and the outputs.
import { parentPort, workerData } from 'node:worker_threads';
import { tensor, ops, info } from '../../lib';
import { mulberry32, randn } from './ref';

interface Job {
  seed: number;
  m: number;
  k: number;
  n: number;
  dtype: 'f32' | 'bf16';
  repeats: number;
  leak: boolean;
}

const job = workerData as Job;
const rng = mulberry32(job.seed);
const a = tensor(randn(rng, job.m * job.k), [job.m, job.k], { dtype: job.dtype });
const b = tensor(randn(rng, job.k * job.n), [job.k, job.n], { dtype: job.dtype });
let out = ops.matmul(a, b);
// repeat so that the workers overlap in native code
for (let i = 1; i < job.repeats; i++) {
  out.dispose();
  out = ops.matmul(a, b);
}
const ns = ops.newtonSchulz(a);
const msg = {
  threadInfo: info().threads,
  a: a.toFloat32Array(),
  b: b.toFloat32Array(),
  out: out.toFloat32Array(),
  outShape: out.shape,
  outDtype: out.dtype,
  ns: ns.toFloat32Array(),
};
if (!job.leak) {
  a.dispose();
  b.dispose();
  out.dispose();
  ns.dispose();
} else {
  // leave some live tensors behind: the addon must free them when the worker's environment goes away
  for (let i = 0; i < 10; i++) tensor(new Float32Array(1024), [32, 32]);
}
parentPort!.postMessage(msg);
