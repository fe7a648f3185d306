// One rank of an MPI test job (started by mpirun, see test/helpers/mpi-run.ts): init() finds the
// launcher, then the collectives are checked against float64 sums / exact gathers. The rank writes
// what it found to $DIST_OUT/rank-<R>.json.
import * as fs from 'fs';
import * as path from 'path';
import { tensor, type Tensor } from '../../lib';
import { init } from '../../lib/parallel/comm';
import { displacements, evenCounts, exactSum, inputArray, type DType } from './parallel-ref';

const outDir = process.env.DIST_OUT as string;
const comm = init();
const { rank, size } = comm;
const result: Record<string, unknown> & { failures: string[]; checks: number } = {
  rank,
  pid: process.pid,
  failures: [],
  checks: 0,
  transport: comm.transport(),
  launcherRank: Number(process.env.OMPI_COMM_WORLD_RANK ?? process.env.PMI_RANK),
};

function fail(msg: string): void {
  if (result.failures.length < 50) result.failures.push(msg);
}

function make(data: Float32Array, dtype: DType): Tensor {
  return tensor(data, [data.length], { dtype });
}

function expectExact(label: string, got: Float32Array, want: Float32Array): void {
  result.checks++;
  if (got.length !== want.length) return fail(`${label}: length ${got.length}, expected ${want.length}`);
  for (let i = 0; i < got.length; ++i)
    if (!Object.is(got[i], want[i])) return fail(`${label}: element ${i}: got ${got[i]}, expected ${want[i]}`);
}

// fp32 accumulation over the ranks, plus bf16 rounding of the host partial sums and of the result.
function expectSums(label: string, dtype: DType, got: Float32Array, inputs: Float32Array[], offset: number): void {
  result.checks++;
  for (let i = 0; i < got.length; ++i) {
    const exact = exactSum(inputs, offset + i);
    let abs = 0;
    for (const x of inputs) abs += Math.abs(x[offset + i]);
    const tol = size * 2 ** -24 * abs + (dtype === 'bf16' ? 2 ** -8 * (abs + Math.abs(exact)) : 0) + 1e-30;
    if (!(Math.abs(got[i] - exact) <= tol)) return fail(`${label}: element ${i}: got ${got[i]}, float64 sum ${exact} (tolerance ${tol})`);
  }
}

function check(dtype: DType, n: number, seed: number): void {
  const tag = `${dtype} n=${n}`;
  // Uneven counts with an empty chunk, so the host grouping's reordering is exercised.
  const counts = Array.from({ length: size }, (_, q) => (size > 1 && q === 1 ? 0 : n + 3 * q));
  const total = counts.reduce((a, b) => a + b, 0);
  const d = displacements(counts);
  const inputs = Array.from({ length: size }, (_, q) => inputArray(dtype, seed, q, Math.max(total, size * n)));
  const mine = inputs[rank];
  {
    using x = make(mine.subarray(0, counts[rank]), dtype);
    using out = comm.allGatherV(x, counts);
    const want = new Float32Array(total);
    for (let q = 0; q < size; ++q) want.set(inputs[q].subarray(0, counts[q]), d[q]);
    expectExact(`${tag} allGatherV`, out.toFloat32Array(), want);
    const data = new Float32Array(total).fill(NaN);
    data.set(mine.subarray(0, counts[rank]), d[rank]);
    using t = make(data, dtype);
    comm.allGatherV(t, counts, t);
    expectExact(`${tag} allGatherV in place`, t.toFloat32Array(), want);
  }
  {
    using y = make(mine.subarray(0, total), dtype);
    using rs = comm.reduceScatterV(y, counts);
    expectSums(`${tag} reduceScatterV`, dtype, rs.toFloat32Array(), inputs, d[rank]);
    comm.reduceScatterV(y, counts, y);
    const got = y.toFloat32Array();
    expectSums(`${tag} reduceScatterV in place`, dtype, got.subarray(d[rank], d[rank + 1]), inputs, d[rank]);
    expectExact(`${tag} reduceScatterV in place, the rest untouched`, got.subarray(0, d[rank]), mine.subarray(0, d[rank]));
  }
  {
    using x = make(mine.subarray(0, size * n), dtype);
    using out = comm.reduceScatter(x);
    expectSums(`${tag} reduceScatter`, dtype, out.toFloat32Array(), inputs, rank * n);
    using x1 = make(mine.subarray(0, n), dtype);
    using g = comm.allGather(x1);
    const want = new Float32Array(size * n);
    for (let q = 0; q < size; ++q) want.set(inputs[q].subarray(0, n), q * n);
    expectExact(`${tag} allGather`, g.toFloat32Array(), want);
  }
  {
    using t = make(mine.subarray(0, n), dtype);
    comm.allReduce(t);
    const got = t.toFloat32Array();
    expectSums(`${tag} allReduce`, dtype, got, inputs, 0);
    // Every rank has the same bits: rank 0's broadcast must not change them.
    using b = make(got, dtype);
    comm.broadcast(b, 0);
    expectExact(`${tag} allReduce same on every rank`, got, b.toFloat32Array());
    void evenCounts;
  }
  for (const root of [0, size - 1]) {
    using t = make(mine.subarray(0, n), dtype);
    comm.broadcast(t, root);
    expectExact(`${tag} broadcast root ${root}`, t.toFloat32Array(), inputs[root].subarray(0, n));
  }
}

// MPI_SCENARIO=kill: every rank records its pid and allReduces in a loop; the last rank SIGKILLs
// itself after a few rounds (the launcher must then stop the whole job).
if (process.env.MPI_SCENARIO === 'kill') {
  fs.writeFileSync(path.join(outDir, `pid-${rank}`), `${process.pid} ${comm.transport().hostName}`);
  using t = tensor(new Float32Array(100003).fill(1), [100003]);
  for (let i = 0; ; ++i) {
    if (rank === size - 1 && i === 20) {
      fs.writeFileSync(path.join(outDir, 'killed-at'), String(Date.now()));
      process.kill(process.pid, 'SIGKILL');
    }
    comm.allReduce(t);
  }
}

let seed = 11;
for (const dtype of ['f32', 'bf16'] as DType[]) for (const n of [1, 7, 1000, 300001]) check(dtype, n, seed++);
const v = new Float64Array([rank + 0.1, -rank - 1, 2 ** 60 * (rank % 2 ? 1 : -1)]);
const sum = comm.allReduceNumbers(v, 'sum');
const max = comm.allReduceNumbers(v, 'max');
let s0 = 0, s1 = 0, s2 = 0;
for (let r = 0; r < size; ++r) {
  s0 += r + 0.1;
  s1 += -r - 1;
  s2 += 2 ** 60 * (r % 2 ? 1 : -1);
}
expectExact('allReduceNumbers sum', Float32Array.from(sum), Float32Array.from([s0, s1, s2]));
expectExact('allReduceNumbers max', Float32Array.from(max), Float32Array.from([size - 1 + 0.1, -1, size > 1 ? 2 ** 60 : -(2 ** 60)]));
comm.barrier();
result.job = comm.jobName;
comm.close();
fs.writeFileSync(path.join(outDir, `rank-${rank}.json`), JSON.stringify(result));
