// The addon loads and computes correctly in several worker_threads at once.
import test from 'ava';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { tensor, ops } from '../lib';
import { firstBitwiseDifference, fmt, matmulRef, relFrobError } from './helpers/ref';
import { GEMM_TOL } from './helpers/util';

interface Result {
  threadInfo: number;
  a: Float32Array;
  b: Float32Array;
  out: Float32Array;
  outShape: number[];
  outDtype: string;
  ns: Float32Array;
}

const WORKER = path.join(__dirname, 'helpers', 'worker-matmul.ts');
// The worker's entry is TypeScript: register tsx's CommonJS hook first, then require it.
const TSX_CJS = require.resolve('tsx/cjs');

function runWorker(data: object): Promise<{ result: Result; exitCode: number }> {
  const code = `require(${JSON.stringify(TSX_CJS)}); require(${JSON.stringify(WORKER)});`;
  return new Promise((resolve, reject) => {
    const w = new Worker(code, { eval: true, workerData: data });
    let result: Result | undefined;
    w.on('message', (m: Result) => {
      result = m;
    });
    w.on('error', reject);
    w.on('exit', (exitCode) => {
      if (!result) reject(new Error(`worker exited with code ${exitCode} before posting a result`));
      else resolve({ result, exitCode });
    });
  });
}

const JOBS = [
  { seed: 1, m: 65, k: 129, n: 33, dtype: 'f32', repeats: 20, leak: false },
  { seed: 2, m: 128, k: 96, n: 80, dtype: 'bf16', repeats: 20, leak: true },
  { seed: 3, m: 33, k: 200, n: 129, dtype: 'f32', repeats: 20, leak: false },
] as const;

test('three workers load the library at once and each gets the correct matmul', async (t) => {
  const results = await Promise.all(JOBS.map((j) => runWorker(j)));
  results.forEach(({ result: r, exitCode }, i) => {
    const j = JOBS[i];
    const label = `worker ${i} (${j.dtype} ${j.m}x${j.k}x${j.n})`;
    t.is(exitCode, 0, `${label}: exit code`);
    t.deepEqual(r.outShape, [j.m, j.n], `${label}: shape`);
    t.is(r.outDtype, j.dtype, `${label}: dtype`);
    const err = relFrobError(r.out, matmulRef(r.a, r.b, j.m, j.k, j.n));
    t.true(err <= GEMM_TOL[j.dtype], `${label}: relative Frobenius error ${fmt(err)} > ${GEMM_TOL[j.dtype]}`);
    // the main thread computes bitwise the same thing from the same inputs
    const a = tensor(r.a, [j.m, j.k], { dtype: j.dtype });
    const b = tensor(r.b, [j.k, j.n], { dtype: j.dtype });
    const here = ops.matmul(a, b).toFloat32Array();
    t.is(firstBitwiseDifference(here, r.out), -1, `${label}: worker and main thread results differ bitwise`);
    const nsHere = ops.newtonSchulz(a).toFloat32Array();
    t.is(firstBitwiseDifference(nsHere, r.ns), -1, `${label}: worker and main thread Newton-Schulz differ bitwise`);
    t.true(r.threadInfo >= 1, `${label}: info().threads = ${r.threadInfo}`);
  });
});

test('the library keeps working in the main thread after workers have come and gone', async (t) => {
  for (let round = 0; round < 2; round++) {
    await Promise.all(JOBS.map((j) => runWorker({ ...j, repeats: 2 })));
  }
  const a = tensor([1, 2, 3, 4], [2, 2]);
  const out = ops.matmul(a, a).toFloat32Array();
  t.deepEqual(Array.from(out), [7, 10, 15, 22]);
});
