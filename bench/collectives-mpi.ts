// The collectives of an MPI job (run as one of its ranks, under mpirun or srun) beside the MPI
// library's own MPI_Allgather / MPI_Reduce_scatter_block on the same buffers and ranks, f32, out
// of place, nccl-tests conventions as in bench/collectives.ts:
//   size   the whole array (each rank's all-gather output / reduce-scatter input)
//   time   per call, from the first rank's start to the last rank's end (after a barrier), median
//   busbw  size / time * (N-1)/N, GB/s = 1e9 B/s
//
// Run: mpirun -n 4 [--hostfile H] npx moontrain bench allgather|reducescatter --backend hier|mpi
//        [--min-mib 16] [--max-mib 256] [--json FILE]
// (default file: bench/results/<date>-cpu-mpi-<kind>-<backend>-n<N>.json, written by rank 0).
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { init } from '../lib/parallel/comm';
import { detectMpiLaunch } from '../lib/parallel/mpi-env';
import { native, packageRoot } from '../lib/native';
import { tensor, type Tensor } from '../lib/tensor';
import { timeIt, type CollectiveKind } from './collectives';

interface Side {
  us: number;
  algbw: number;
  busbw: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function fill(n: number, seed: number): Tensor {
  const a = new Float32Array(n);
  for (let i = 0; i < n; ++i) a[i] = ((i * 7 + seed * 13) % 17) - 8;
  return tensor(a, [n]);
}

export interface MpiBenchOptions {
  kind: CollectiveKind;
  backend: 'hier' | 'mpi';
  minBytes: number;
  maxBytes: number;
  repeats: number;
  json?: string;
}

/** Runs this rank's part; rank 0 prints the table and writes the JSON. Returns the exit code. */
export function benchCollectivesMpi(o: MpiBenchOptions): number {
  if (!detectMpiLaunch(process.env))
    throw new Error(`bench ${o.kind} --backend ${o.backend}: run it as the ranks of an MPI job: mpirun -n 4 [--hostfile H] npx moontrain bench ${o.kind} --backend ${o.backend}`);
  process.env.MOONTRAIN_COMM = o.backend;
  const comm = init();
  const N = comm.size;
  const tr = comm.transport();
  const say = (s: string) => comm.rank === 0 && console.log(s);
  say(`# ${o.kind}, ${N} ranks on ${tr.hosts} host(s) (${tr.localSize} a host), backend ${tr.backend}, f32, out of place; MPI: ${native.mpiInfo().version}`);
  say(`# ${'size'.padStart(10)} | ${'moontrain us'.padStart(12)} ${'busbw'.padStart(7)} | ${'MPI lib us'.padStart(12)} ${'busbw'.padStart(7)} | ratio`);
  const rows = [];
  const f = (N - 1) / N;
  for (let target = o.minBytes; target <= o.maxBytes; target *= 4) {
    const count = Math.floor(target / 4 / N) * N;
    const bytes = count * 4;
    const big = fill(count, comm.rank);
    const small = fill(count / N, comm.rank + 1);
    const ours = o.kind === 'allgather' ? () => comm.allGather(small, big) : () => comm.reduceScatter(big, small);
    const lib = o.kind === 'allgather' ? () => native.mpiLibraryAllGather(small, big) : () => native.mpiLibraryReduceScatterBlock(big, small);
    ours();
    lib();
    const t = { ours: [] as number[], lib: [] as number[] };
    for (let r = 0; r < o.repeats; ++r) {
      t.ours.push(timeIt(comm, 1, ours));
      t.lib.push(timeIt(comm, 1, lib));
    }
    const side = (us: number): Side => ({ us, algbw: bytes / (us * 1e3), busbw: (bytes / (us * 1e3)) * f });
    const row = { target, bytes, count, repeats: o.repeats, moontrain: side(median(t.ours)), mpiLibrary: side(median(t.lib)) };
    rows.push(row);
    say(`  ${(bytes / 2 ** 20).toFixed(2).padStart(6)} MiB | ${row.moontrain.us.toFixed(0).padStart(12)} ${row.moontrain.busbw.toFixed(3).padStart(7)} | ` +
      `${row.mpiLibrary.us.toFixed(0).padStart(12)} ${row.mpiLibrary.busbw.toFixed(3).padStart(7)} | ${(row.mpiLibrary.us / row.moontrain.us).toFixed(2)}x`);
    big.dispose();
    small.dispose();
  }
  if (comm.rank === 0) {
    const file = o.json ?? path.join(packageRoot, 'bench', 'results', `${new Date().toISOString().slice(0, 10)}-cpu-mpi-${o.kind}-${o.backend}-n${N}.json`);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, JSON.stringify({
      kind: o.kind, dtype: 'f32', backend: tr.backend, nproc: N, hosts: tr.hosts, localSize: tr.localSize, date: new Date().toISOString(),
      machine: { cpu: os.cpus()[0]?.model, cores: os.cpus().length, node: process.version }, mpi: native.mpiInfo(),
      definitions: {
        bytes: 'the whole array: each rank\'s all-gather output / reduce-scatter input (nccl-tests "size")',
        us: 'per call, from the first rank\'s start to the last rank\'s end (after a barrier), median over repeats',
        busbw: 'algbw * (N-1)/N, GB/s = 1e9 B/s',
        mpiLibrary: 'MPI_Allgather / MPI_Reduce_scatter_block of the same library on the same buffers and ranks',
        ratio: 'mpiLibrary.us / moontrain.us (> 1: moontrain faster)',
      },
      loadAverage: os.loadavg(), rows,
    }, null, 1));
    console.log(`results: ${file}`);
  }
  comm.close();
  return 0;
}
