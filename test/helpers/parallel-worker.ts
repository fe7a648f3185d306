// One rank of a collective test job, started by launch() (test/helpers/parallel-run.ts). The
// scenario comes from DIST_SCENARIO; the rank writes what it found to $DIST_OUT/rank-<R>.json.
import { spawn } from 'child_process';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { tensor, type Tensor } from '../../lib';
import { Communicator, init } from '../../lib/parallel/comm';
import { displacements, evenCounts, exactSum, inputArray, ringSum, sumTolerance, type DType } from './parallel-ref';
import type { RankResult } from './parallel-run';

const scenario = process.env.DIST_SCENARIO ?? 'collectives';
const outDir = process.env.DIST_OUT as string;
const job = process.env.MOONTRAIN_JOB as string;
const rank = Number(process.env.RANK);
const size = Number(process.env.WORLD_SIZE);

type Result = RankResult & { [k: string]: unknown };

const result: Result = { rank, pid: process.pid, job, failures: [], checks: 0 };

function save(): void {
  const file = path.join(outDir, `rank-${rank}.json`);
  fs.writeFileSync(`${file}.tmp`, JSON.stringify(result));
  fs.renameSync(`${file}.tmp`, file);
}

function fail(msg: string): void {
  if (result.failures.length < 50) result.failures.push(msg);
}

function fmt(x: number): string {
  return Object.is(x, -0) ? '-0' : String(x);
}

function make(data: Float32Array, dtype: DType): Tensor {
  return tensor(data, [data.length], { dtype });
}

function codeOf(fn: () => unknown): { code?: string; argument?: string; message: string } | null {
  try {
    fn();
    return null;
  } catch (e) {
    const err = e as Error & { code?: string; argument?: string };
    return { code: err.code, argument: err.argument, message: err.message };
  }
}

// ---------------------------------------------------------------------------------------------
// Correctness of every collective against the references
// ---------------------------------------------------------------------------------------------

// counts for the V-variants: uneven, with an empty chunk (rank 1) when size > 1.
function vCounts(n: number): number[] {
  return Array.from({ length: size }, (_, q) => (size > 1 && q === 1 ? 0 : n + 3 * q));
}

// Every rank's input for a case (each rank generates all of them) and the expected results,
// cached for the communicators that run the same case.
interface Case {
  inputs: Float32Array[];
  counts: number[];
  gathered: Float32Array; // allGather: inputs[q][0, n) for q in rank order
  scattered: Float32Array; // reduceScatter: this rank's chunk of the ring sum
  reduced: Float32Array; // allReduce of inputs[q][0, n)
  gatheredV: Float32Array;
  scatteredV: Float32Array;
}
let cached: { key: string; c: Case } | undefined;

// Without `expected`, only this rank's input is made and nothing is checked (determinism runs).
let verify = true;

function caseFor(dtype: DType, seed: number, n: number): Case {
  const key = `${dtype} ${seed} ${n}`;
  if (cached?.key === key) return cached.c;
  const N = size;
  const counts = vCounts(n);
  const vTotal = counts.reduce((a, b) => a + b, 0);
  if (!verify) {
    const inputs = Array.from({ length: N }, (_, q) => (q === rank ? inputArray(dtype, seed, q, Math.max(N * n, vTotal)) : new Float32Array(0)));
    const none = new Float32Array(0);
    const c: Case = { inputs, counts, gathered: none, scattered: none, reduced: none, gatheredV: none, scatteredV: none };
    cached = { key, c };
    return c;
  }
  const inputs = Array.from({ length: N }, (_, q) => inputArray(dtype, seed, q, Math.max(N * n, vTotal)));
  const gathered = new Float32Array(N * n);
  for (let q = 0; q < N; ++q) gathered.set(inputs[q].subarray(0, n), q * n);
  const scattered = new Float32Array(n);
  for (let j = 0; j < n; ++j) scattered[j] = ringSum(dtype, inputs, rank, rank * n + j);
  const reduced = new Float32Array(n);
  const d = displacements(evenCounts(n, N));
  for (let c = 0; c < N; ++c) for (let i = d[c]; i < d[c + 1]; ++i) reduced[i] = ringSum(dtype, inputs, c, i);
  const dv = displacements(counts);
  const gatheredV = new Float32Array(vTotal);
  for (let q = 0; q < N; ++q) gatheredV.set(inputs[q].subarray(0, counts[q]), dv[q]);
  const scatteredV = new Float32Array(counts[rank]);
  for (let j = 0; j < counts[rank]; ++j) scatteredV[j] = ringSum(dtype, inputs, rank, dv[rank] + j);
  const c: Case = { inputs, counts, gathered, scattered, reduced, gatheredV, scatteredV };
  cached = { key, c };
  return c;
}

// Bitwise comparison (NaN matches NaN); one failure per label at most.
function expectBits(label: string, got: Float32Array, want: Float32Array): void {
  if (!verify) return;
  result.checks++;
  if (got.length !== want.length) return fail(`${label}: length ${got.length}, expected ${want.length}`);
  const g = new Uint32Array(got.buffer, got.byteOffset, got.length);
  const w = new Uint32Array(want.buffer, want.byteOffset, want.length);
  for (let i = 0; i < g.length; ++i)
    if (g[i] !== w[i] && !(Number.isNaN(got[i]) && Number.isNaN(want[i])))
      return fail(`${label}: element ${i}: got ${fmt(got[i])}, expected ${fmt(want[i])}`);
}

// |got - float64 sum| within the fp32 accumulation (+ bf16 rounding) bound (a sample of large arrays).
function expectNearSum(label: string, dtype: DType, got: Float32Array, inputs: Float32Array[], offset: number): void {
  if (!verify) return;
  result.checks++;
  const step = got.length > 10000 ? 97 : 1;
  for (let i = 0; i < got.length; i += step) {
    const exact = exactSum(inputs, offset + i);
    const tol = sumTolerance(dtype, inputs, offset + i, exact);
    if (!(Math.abs(got[i] - exact) <= tol)) return fail(`${label}: element ${i}: got ${got[i]}, float64 sum ${exact} (tolerance ${tol})`);
  }
}

function checkAll(name: string, comm: Communicator, dtype: DType, n: number, seed: number, hashes?: Record<string, string>): void {
  const tag = `${name} ${dtype} n=${n}`;
  const N = size;
  const k = caseFor(dtype, seed, n);
  const { inputs, counts } = k;
  const mine = inputs[rank];
  const vTotal = counts.reduce((a, b) => a + b, 0);
  const hash = (label: string, t: Tensor) => {
    if (hashes) hashes[`${tag} ${label}`] = createHash('sha256').update(Buffer.from(t.toFloat32Array().buffer)).digest('hex');
  };

  // allGather, out of place (fresh output, then a given output)
  {
    using x = make(mine.subarray(0, n), dtype);
    using out = comm.allGather(x);
    expectBits(`${tag} allGather`, out.toFloat32Array(), k.gathered);
    using given = make(new Float32Array(N * n).fill(NaN), dtype);
    const back = comm.allGather(x, given);
    if (back !== given) fail(`${tag} allGather(x, out) did not return out`);
    expectBits(`${tag} allGather(out)`, given.toFloat32Array(), k.gathered);
    hash('allGather', out);
  }
  // allGather in place: own chunk in place, the rest NaN
  {
    const data = new Float32Array(N * n).fill(NaN);
    data.set(mine.subarray(0, n), rank * n);
    using t = make(data, dtype);
    comm.allGather(t, t);
    expectBits(`${tag} allGather in place`, t.toFloat32Array(), k.gathered);
  }
  // reduceScatter, out of place and in place
  {
    using x = make(mine.subarray(0, N * n), dtype);
    using out = comm.reduceScatter(x);
    const got = out.toFloat32Array();
    expectBits(`${tag} reduceScatter`, got, k.scattered);
    expectNearSum(`${tag} reduceScatter vs float64`, dtype, got, inputs, rank * n);
    hash('reduceScatter', out);
    using given = make(new Float32Array(n).fill(NaN), dtype);
    comm.reduceScatter(x, given);
    expectBits(`${tag} reduceScatter(out)`, given.toFloat32Array(), k.scattered);
    comm.reduceScatter(x, x);
    if (verify) {
      const want = mine.slice(0, N * n);
      want.set(k.scattered, rank * n);
      expectBits(`${tag} reduceScatter in place`, x.toFloat32Array(), want);
    }
  }
  // allReduce (in place)
  {
    using t = make(mine.subarray(0, n), dtype);
    const back = comm.allReduce(t);
    if (back !== t) fail(`${tag} allReduce did not return its argument`);
    const got = t.toFloat32Array();
    expectBits(`${tag} allReduce`, got, k.reduced);
    expectNearSum(`${tag} allReduce vs float64`, dtype, got, inputs, 0);
    hash('allReduce', t);
  }
  // broadcast from every root for small n, from the last rank for large ones
  for (let root = n > 5000 ? N - 1 : 0; root < N; ++root) {
    using t = make(mine.subarray(0, n), dtype);
    comm.broadcast(t, root);
    if (verify) expectBits(`${tag} broadcast root ${root}`, t.toFloat32Array(), inputs[root].subarray(0, n));
  }
  // allGatherV and reduceScatterV, uneven counts with an empty chunk; out of place and in place
  {
    const d = displacements(counts);
    using x = make(mine.subarray(0, counts[rank]), dtype);
    using out = comm.allGatherV(x, counts);
    expectBits(`${tag} allGatherV`, out.toFloat32Array(), k.gatheredV);
    const data = new Float32Array(vTotal).fill(NaN);
    data.set(mine.subarray(0, counts[rank]), d[rank]);
    using t = make(data, dtype);
    comm.allGatherV(t, Int32Array.from(counts), t);
    expectBits(`${tag} allGatherV in place`, t.toFloat32Array(), k.gatheredV);

    using y = make(mine.subarray(0, vTotal), dtype);
    using rs = comm.reduceScatterV(y, counts);
    expectBits(`${tag} reduceScatterV`, rs.toFloat32Array(), k.scatteredV);
    comm.reduceScatterV(y, counts, y);
    if (verify) {
      const want = mine.slice(0, vTotal);
      want.set(k.scatteredV, d[rank]);
      expectBits(`${tag} reduceScatterV in place`, y.toFloat32Array(), want);
    }
  }
}

function checkBytes(name: string, comm: Communicator, direct: boolean): void {
  const N = size;
  const n = 1000;
  comm.resetBytes();
  using x = make(inputArray('f32', 5, rank, N * n), 'f32');
  using x1 = make(inputArray('f32', 5, rank, n), 'f32');
  using g = comm.allGather(x1);
  const b1 = comm.bytes();
  const agWant = (N - 1) * n * 4;
  if (b1.allGather !== agWant) fail(`${name} bytes().allGather after allGather of ${n} f32: ${b1.allGather}, expected ${agWant}`);
  using r = comm.reduceScatter(x);
  const rsWant = (N - 1) * n * 4;
  if (comm.bytes().reduceScatter !== rsWant) fail(`${name} bytes().reduceScatter: ${comm.bytes().reduceScatter}, expected ${rsWant}`);
  using a = make(inputArray('f32', 6, rank, n), 'f32');
  comm.allReduce(a);
  const counts = evenCounts(n, N);
  let arWant = 0;
  if (N > 1) {
    if (direct) {
      for (let q = 0; q < N; ++q) if (q !== rank) arWant += counts[q] * 4;
      arWant += (N - 1) * counts[rank] * 4;
    } else {
      for (let s = 0; s < N - 1; ++s) arWant += counts[(rank - 1 - s + 2 * N) % N] * 4; // reduce-scatter
      for (let s = 0; s < N - 1; ++s) arWant += counts[(rank - s + N) % N] * 4; // all-gather
    }
  }
  if (comm.bytes().allReduce !== arWant) fail(`${name} bytes().allReduce: ${comm.bytes().allReduce}, expected ${arWant}`);
  using bc = make(inputArray('bf16', 7, rank, n), 'bf16');
  comm.broadcast(bc, 0);
  const dist = (rank - 0 + N) % N;
  const bcWant = N === 1 ? 0 : direct ? (rank === 0 ? (N - 1) * n * 2 : 0) : dist < N - 1 ? n * 2 : 0;
  if (comm.bytes().broadcast !== bcWant) fail(`${name} bytes().broadcast: ${comm.bytes().broadcast}, expected ${bcWant}`);
  comm.resetBytes();
  const z = comm.bytes();
  if (z.allGather || z.reduceScatter || z.allReduce || z.broadcast) fail(`${name} resetBytes() left ${JSON.stringify(z)}`);
  result.checks++;
  void g;
}

function checkNumbersAndBarrier(comm: Communicator): void {
  const v = new Float64Array([rank + 0.1, -rank, 2 ** 60 * (rank % 2 ? 1 : -1), rank === size - 1 ? NaN : 1]);
  const sum = comm.allReduceNumbers(v, 'sum');
  const max = comm.allReduceNumbers(v, 'max');
  let s0 = 0;
  for (let q = 0; q < size; ++q) s0 += q + 0.1;
  let s2 = 0;
  for (let q = 0; q < size; ++q) s2 += 2 ** 60 * (q % 2 ? 1 : -1);
  const want = [s0, -((size - 1) * size) / 2, s2, NaN];
  for (let i = 0; i < 4; ++i)
    if (!Object.is(sum[i], want[i]) && !(Number.isNaN(sum[i]) && Number.isNaN(want[i]))) fail(`allReduceNumbers sum[${i}] = ${sum[i]}, expected ${want[i]}`);
  const wantMax = [size - 1 + 0.1, -0, size > 1 ? 2 ** 60 : -(2 ** 60), NaN];
  for (let i = 0; i < 4; ++i)
    if (!Object.is(max[i], wantMax[i]) && !(Number.isNaN(max[i]) && Number.isNaN(wantMax[i]))) fail(`allReduceNumbers max[${i}] = ${max[i]}, expected ${wantMax[i]}`);
  if (v[0] !== rank + 0.1) fail('allReduceNumbers changed its input');
  // More numbers than one scratch round (8192).
  const many = new Float64Array(20000).map((_, i) => i * (rank + 1));
  const got = comm.allReduceNumbers(many, 'sum');
  const f = (size * (size + 1)) / 2;
  for (let i = 0; i < many.length; ++i)
    if (got[i] !== i * f) {
      fail(`allReduceNumbers(20000 values)[${i}] = ${got[i]}, expected ${i * f}`);
      break;
    }
  for (let i = 0; i < 3; ++i) comm.barrier();
  result.checks += 3;
}

function checkValidation(comm: Communicator): void {
  const N = size;
  using x7 = make(new Float32Array(7), 'f32');
  using bf = make(new Float32Array(7 * N), 'bf16');
  const cases: [string, () => unknown, string][] = [
    ['reduceScatter of 7 elements', () => comm.reduceScatter(make(new Float32Array(N * 7 + 1), 'f32')), 'input'],
    ['allGather into a wrong-sized output', () => comm.allGather(x7, make(new Float32Array(N * 7 + 1), 'f32')), 'output'],
    ['allGather into another dtype', () => comm.allGather(x7, bf), 'output'],
    ['allGatherV with a short counts', () => comm.allGatherV(x7, new Array(N + 1).fill(7)), 'counts'],
    ['allGatherV with a negative count', () => comm.allGatherV(x7, new Array(N).fill(-1)), 'counts'],
    ['allGatherV with input != counts[rank]', () => comm.allGatherV(x7, new Array(N).fill(8)), 'input'],
    ['reduceScatterV with input != sum(counts)', () => comm.reduceScatterV(x7, new Array(N).fill(7)), 'input'],
    ['broadcast from root = size', () => comm.broadcast(x7, N), 'root'],
    ['broadcast from root 0.5', () => comm.broadcast(x7, 0.5), 'root'],
    ['allReduce of a number', () => comm.allReduce(3 as unknown as Tensor), 't'],
    ['allReduceNumbers of a Float32Array', () => comm.allReduceNumbers(new Float32Array(2) as unknown as Float64Array, 'sum'), 'values'],
    ['allReduceNumbers with op min', () => comm.allReduceNumbers(new Float64Array(2), 'min' as 'sum'), 'op'],
  ];
  // With one rank every element count divides evenly and counts[0] is the whole input.
  const oneRankOk = new Set(['reduceScatter of 7 elements', 'reduceScatterV with input != sum(counts)']);
  for (const [what, fn, arg] of cases) {
    if (N === 1 && oneRankOk.has(what)) continue;
    result.checks++;
    const e = codeOf(fn);
    if (!e) fail(`validation: ${what}: did not throw`);
    else if (e.code !== 'ERR_MOONTRAIN_INVALID_ARGUMENT' || e.argument !== arg)
      fail(`validation: ${what}: got ${e.code} argument ${e.argument} (${e.message}), expected argument '${arg}'`);
  }
}

function collectives(): void {
  const big = (1 << 20) + 3;
  const sizes = [1, 7, 1000, big];
  const ring = new Communicator({ jobName: `${job}-ring`, rank, size, direct: false });
  const direct = new Communicator({ jobName: `${job}-direct`, rank, size, directMinBytes: 0, directWhenOversubscribed: true });
  const dflt = init();
  result.direct = direct.transport().direct;
  if (ring.rank !== rank || ring.size !== size) fail(`rank/size ${ring.rank}/${ring.size}, expected ${rank}/${size}`);
  let seed = 1;
  for (const dtype of ['f32', 'bf16'] as DType[])
    for (const n of sizes) {
      checkAll('ring', ring, dtype, n, seed);
      if (size > 1) checkAll('direct', direct, dtype, n, seed);
      if (n === big && dtype === 'f32') checkAll('default', dflt, dtype, n, seed);
      ++seed;
    }
  checkAll('default', dflt, 'bf16', 1000, 98);
  checkBytes('ring', ring, false);
  checkBytes('direct', direct, direct.transport().direct);
  checkNumbersAndBarrier(dflt);
  checkValidation(ring);
  // The communicators still agree after the invalid calls.
  ring.barrier();
  for (const c of [ring, direct, dflt]) c.close();
  const closed = codeOf(() => ring.barrier());
  if (!closed || closed.code !== 'ERR_MOONTRAIN_COMM_CLOSED') fail(`barrier after close(): ${JSON.stringify(closed)}`);
  ring.close(); // idempotent
}

// ---------------------------------------------------------------------------------------------
// Determinism: hashes of results on random data (compared across runs by the test)
// ---------------------------------------------------------------------------------------------

function determinism(): void {
  verify = false;
  const hashes: Record<string, string> = {};
  const ring = new Communicator({ jobName: `${job}-ring`, rank, size, direct: false });
  const dflt = init();
  let seed = 1000;
  for (const dtype of ['f32', 'bf16'] as DType[])
    for (const n of [1000, (1 << 20) + 3]) {
      checkAll('ring', ring, dtype, n, seed, hashes);
      checkAll('default', dflt, dtype, n, seed, hashes);
      ++seed;
    }
  result.hashes = hashes;
  ring.close();
  dflt.close();
}

// ---------------------------------------------------------------------------------------------
// Faults
// ---------------------------------------------------------------------------------------------

function busyWait(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end);
}

// Survivors: run collectives until one throws; record the error and when.
function survive(comm: Communicator, n: number): never {
  using t = make(new Float32Array(n).fill(1), 'f32');
  result.startedAt = Date.now();
  try {
    for (let i = 0; i < 100000; ++i) comm.allReduce(t);
    fail('no collective failed');
  } catch (e) {
    const err = e as Error & { code?: string; rank?: number; op?: string };
    result.detectedAt = Date.now();
    result.error = { message: err.message, code: err.code, rank: err.rank, op: err.op };
  }
  save();
  process.exit(1);
}

function faultExit(): void {
  const comm = init();
  using t = make(new Float32Array(1000).fill(1), 'f32');
  for (let i = 0; i < 3; ++i) comm.allReduce(t);
  if (rank === 1) {
    busyWait(300); // the others are inside the next allReduce by now
    result.victimAt = Date.now();
    save();
    process.exit(3);
  }
  survive(comm, 1 << 22);
}

function faultKill(): void {
  const comm = init();
  using t = make(new Float32Array(1000).fill(1), 'f32');
  for (let i = 0; i < 3; ++i) comm.allReduce(t);
  if (rank === size - 1) {
    result.victimAt = Date.now() + 300;
    save();
    spawn('sh', ['-c', `sleep 0.3; kill -9 ${process.pid}`], { stdio: 'ignore' }).unref();
  }
  survive(comm, 1 << 22); // the victim is killed inside one of these
}

function faultAbort(): void {
  const comm = init();
  using t = make(new Float32Array(1000).fill(1), 'f32');
  comm.allReduce(t);
  if (rank === 0) {
    busyWait(200);
    result.victimAt = Date.now();
    comm.abort('loss is NaN');
    save();
    process.exit(2);
  }
  survive(comm, 1 << 16);
}

function faultStop(): void {
  const comm = init({ heartbeatTimeout: 1.5 });
  using t = make(new Float32Array(1000).fill(1), 'f32');
  comm.allReduce(t);
  if (rank === 1) {
    result.victimAt = Date.now();
    save();
    process.kill(process.pid, 'SIGSTOP');
    return;
  }
  survive(comm, 1 << 10);
}

function mismatch(): void {
  const comm = init();
  using x = make(new Float32Array(2000).fill(1), 'f32');
  try {
    if (rank === 0) comm.allGather(x);
    else comm.reduceScatter(x);
    fail('mismatched collectives did not throw');
  } catch (e) {
    const err = e as Error & { code?: string; rank?: number };
    result.error = { message: err.message, code: err.code, rank: err.rank };
  }
  save();
  process.exit(1);
}

// A rank that leaves right after finishing a collective is not a failure for a peer still
// finishing it: rank 1 broadcasts a small message (written into rank 2's slots) and closes at
// once; rank 2 enters 300 ms later, so rank 0 waits for rank 2's forward while rank 1 is gone.
function earlyClose(): void {
  const comm = init();
  comm.barrier();
  const data = Float32Array.from({ length: 100 }, (_, i) => i + 0.5);
  using t = make(rank === 1 ? data : new Float32Array(100), 'f32');
  if (rank === 2) busyWait(300);
  try {
    comm.broadcast(t, 1);
    const got = t.toFloat32Array();
    if (got.some((v, i) => v !== data[i])) fail('broadcast: wrong data');
  } catch (e) {
    const err = e as Error & { code?: string; rank?: number };
    result.error = { message: err.message, code: err.code, rank: err.rank };
  }
  result.detectedAt = Date.now();
  comm.close();
  save();
  process.exit(0);
}

// Waits in barriers until killed (the SIGINT / launcher-kill tests).
function idle(): void {
  const comm = init();
  save();
  for (;;) {
    comm.barrier();
    busyWait(20);
  }
}

switch (scenario) {
  case 'collectives':
    collectives();
    break;
  case 'determinism':
    determinism();
    break;
  case 'exit':
    faultExit();
    break;
  case 'kill':
    faultKill();
    break;
  case 'abort':
    faultAbort();
    break;
  case 'stop':
    faultStop();
    break;
  case 'mismatch':
    mismatch();
    break;
  case 'idle':
    idle();
    break;
  case 'early-close':
    earlyClose();
    break;
  default:
    fail(`unknown scenario ${scenario}`);
}
save();
