// nccl-tests style benchmark of the shared-memory collectives: launches `nproc` ranks, times
// all-gather or reduce-scatter (out of place and in place, f32) for sizes 1 KiB .. 256 MiB
// (powers of 4), interleaved with a plain memcpy of the same bytes done by every rank at the
// same time, and reports medians.
//
//   size   nccl-tests' size: the whole array, i.e. each rank's all-gather output or reduce-scatter
//          input (rounded down to a multiple of nproc elements)
//   time   per call: from the first rank's start to the last rank's end (all leave a barrier
//          together), median of repeats
//   algbw  size / time;  busbw = algbw * (N-1)/N  (nccl-tests/doc/PERFORMANCE.md)
//   memcpy every rank copies `size` bytes between two tensors at once; bw = size / time
//
// Run: node --import=tsx bench/collectives.ts allgather|reducescatter <nproc> [--json FILE] [--max-mib M]
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { launch } from '../lib/parallel/launch';
import { init, type Communicator } from '../lib/parallel/comm';
import { native, packageRoot } from '../lib/native';
import { tensor, type Tensor } from '../lib/tensor';

export type CollectiveKind = 'allgather' | 'reducescatter';

/**
 * Microseconds per call of fn, from the first rank's start to the last rank's end
 * (CLOCK_MONOTONIC is system-wide): with more ranks than CPUs a rank's own stopwatch also counts
 * the time others ran on its CPU.
 */
export function timeIt(comm: Communicator, iters: number, fn: () => void): number {
  comm.barrier();
  const t0 = Number(process.hrtime.bigint()) / 1e3;
  for (let i = 0; i < iters; ++i) fn();
  const t1 = Number(process.hrtime.bigint()) / 1e3;
  const [end, negStart] = comm.allReduceNumbers(new Float64Array([t1, -t0]), 'max');
  return (end + negStart) / iters;
}

interface Row {
  /** The nominal size (a power of 4); bytes is it rounded down to a multiple of nproc elements. */
  target: number;
  bytes: number;
  count: number;
  repeats: number;
  iters: number;
  outOfPlace: { us: number; algbw: number; busbw: number };
  inPlace: { us: number; algbw: number; busbw: number };
  memcpy: { us: number; bw: number };
  /** busbw / memcpy bw, out of place and in place. */
  ratio: { outOfPlace: number; inPlace: number };
}

const WORKER_ENV = 'MOONTRAIN_BENCH_COLLECTIVES';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function gbps(bytes: number, us: number): number {
  return bytes / (us * 1e3);
}

function fill(n: number, seed: number): Tensor {
  const a = new Float32Array(n);
  for (let i = 0; i < n; ++i) a[i] = ((i * 7 + seed * 13) % 17) - 8;
  return tensor(a, [Math.max(n, 0)]);
}

function fmtSize(b: number): string {
  if (b >= 1 << 20) return `${(b / (1 << 20)).toFixed(b % (1 << 20) ? 2 : 0)} MiB`;
  if (b >= 1 << 10) return `${(b / (1 << 10)).toFixed(b % (1 << 10) ? 2 : 0)} KiB`;
  return `${b} B`;
}

// One rank's part: returns the rows (identical on every rank: times are maxed over ranks).
function runRank(comm: Communicator, kind: CollectiveKind, maxBytes: number): Row[] {
  const N = comm.size;
  const rows: Row[] = [];
  for (let target = 1024; target <= maxBytes; target *= 4) {
    const count = Math.floor(target / 4 / N) * N; // elements of the whole array
    const bytes = count * 4;
    const n = count / N;
    const big = fill(count, comm.rank);
    const small = fill(n, comm.rank + 1);
    const inPlace = fill(count, comm.rank + 2);
    const src = fill(count, 3);
    const dst = fill(count, 4);
    const iters = Math.max(1, Math.min(100, Math.floor((4 << 20) / Math.max(bytes, 1))));
    const repeats = bytes >= 64 << 20 ? 9 : bytes >= 4 << 20 ? 11 : 21;
    const runOop = kind === 'allgather' ? () => comm.allGather(small, big) : () => comm.reduceScatter(big, small);
    const runIp = kind === 'allgather' ? () => comm.allGather(inPlace, inPlace) : () => comm.reduceScatter(inPlace, inPlace);
    const runCopy = () => native.commCopyBytes(dst, src);
    // Warm-up: pages, caches.
    runOop();
    runIp();
    runCopy();
    const t = { oop: [] as number[], ip: [] as number[], copy: [] as number[] };
    for (let r = 0; r < repeats; ++r) {
      t.oop.push(timeIt(comm, iters, runOop));
      t.ip.push(timeIt(comm, iters, runIp));
      t.copy.push(timeIt(comm, iters, runCopy));
    }
    const f = (N - 1) / N;
    const oopUs = median(t.oop), ipUs = median(t.ip), copyUs = median(t.copy);
    const copyBw = gbps(bytes, copyUs);
    const row: Row = {
      target,
      bytes,
      count,
      repeats,
      iters,
      outOfPlace: { us: oopUs, algbw: gbps(bytes, oopUs), busbw: gbps(bytes, oopUs) * f },
      inPlace: { us: ipUs, algbw: gbps(bytes, ipUs), busbw: gbps(bytes, ipUs) * f },
      memcpy: { us: copyUs, bw: copyBw },
      ratio: { outOfPlace: (gbps(bytes, oopUs) * f) / copyBw, inPlace: (gbps(bytes, ipUs) * f) / copyBw },
    };
    rows.push(row);
    if (comm.rank === 0) printRow(row);
    for (const x of [big, small, inPlace, src, dst]) x.dispose();
  }
  return rows;
}

function printHeader(kind: CollectiveKind, N: number): void {
  console.log(`# ${kind}, ${N} ranks, f32; size = the whole array (nccl-tests); time = first start to last end over ranks, median; GB/s = 1e9 B/s`);
  console.log(
    `# ${'size'.padStart(10)} ${'count'.padStart(10)} | ${'oop us'.padStart(10)} ${'algbw'.padStart(7)} ${'busbw'.padStart(7)} | ` +
      `${'ip us'.padStart(10)} ${'algbw'.padStart(7)} ${'busbw'.padStart(7)} | ${'memcpy us'.padStart(10)} ${'bw'.padStart(7)} | busbw/memcpy oop, ip`,
  );
}

function printRow(r: Row): void {
  const f = (x: number) => x.toFixed(2).padStart(7);
  const us = (x: number) => x.toFixed(1).padStart(10);
  console.log(
    `  ${fmtSize(r.bytes).padStart(10)} ${String(r.count).padStart(10)} | ${us(r.outOfPlace.us)} ${f(r.outOfPlace.algbw)} ${f(r.outOfPlace.busbw)} | ` +
      `${us(r.inPlace.us)} ${f(r.inPlace.algbw)} ${f(r.inPlace.busbw)} | ${us(r.memcpy.us)} ${f(r.memcpy.bw)} | ` +
      `${(r.ratio.outOfPlace * 100).toFixed(0).padStart(4)}% ${(r.ratio.inPlace * 100).toFixed(0).padStart(4)}%`,
  );
}

function defaultJson(kind: CollectiveKind, nproc: number): string {
  const date = new Date().toISOString().slice(0, 10);
  return path.join(packageRoot, 'bench', 'results', `${date}-cpu-${kind}-n${nproc}.json`);
}

/**
 * Launches `nproc` ranks that benchmark `kind`; rank 0 prints the table and writes the JSON
 * (default bench/results/<date>-cpu-<kind>-n<N>.json). Resolves with the launch's exit code.
 */
export async function benchCollectives(kind: CollectiveKind, nproc: number, json?: string, maxBytes = 256 << 20): Promise<number> {
  if (kind !== 'allgather' && kind !== 'reducescatter') throw new Error(`benchCollectives: kind: expected 'allgather' or 'reducescatter', got '${kind}'`);
  const out = json ?? defaultJson(kind, nproc);
  printHeader(kind, nproc);
  const script = __filename;
  const argv = [...process.execArgv.filter((a) => a.startsWith('--import') || a.startsWith('--require') || a.startsWith('-r')), script];
  return launch({
    nproc,
    argv,
    env: { [WORKER_ENV]: JSON.stringify({ kind, json: out, maxBytes }) },
  });
}

function worker(): void {
  const { kind, json, maxBytes } = JSON.parse(process.env[WORKER_ENV] as string) as { kind: CollectiveKind; json: string; maxBytes: number };
  // MOONTRAIN_COMM_SLOT_BYTES / _SLOTS / _SPIN: try other slot geometries.
  const num = (k: string) => (process.env[k] ? Number(process.env[k]) : undefined);
  const comm = init({
    slotBytes: num('MOONTRAIN_COMM_SLOT_BYTES'),
    slots: num('MOONTRAIN_COMM_SLOTS'),
    spin: num('MOONTRAIN_COMM_SPIN'),
    directMinBytes: num('MOONTRAIN_COMM_DIRECT_MIN_BYTES'),
  });
  const loadStart = os.loadavg();
  if (comm.rank === 0) {
    const tr = comm.transport();
    console.log(`# transport: ${tr.slots} slots x ${tr.slotBytes / 1024} KiB per ring link; direct (process_vm_readv) for large messages: ${tr.direct ? 'on' : 'off'}; load average ${loadStart.map((x) => x.toFixed(2)).join(' ')}`);
  }
  const rows = runRank(comm, kind, maxBytes);
  if (comm.rank === 0) {
    const big = rows.filter((r) => r.target >= 64 << 20);
    if (big.length) {
      const oop = big.map((r) => (r.ratio.outOfPlace * 100).toFixed(0) + '%').join(', ');
      const ip = big.map((r) => (r.ratio.inPlace * 100).toFixed(0) + '%').join(', ');
      console.log(`# busbw / memcpy for sizes >= 64 MiB: out of place ${oop}; in place ${ip}`);
    }
    fs.mkdirSync(path.dirname(json), { recursive: true });
    const doc = {
      kind,
      dtype: 'f32',
      nproc: comm.size,
      date: new Date().toISOString(),
      machine: { cpu: os.cpus()[0]?.model, cores: os.cpus().length, node: process.version },
      definitions: {
        bytes: 'the whole array: each rank\'s all-gather output / reduce-scatter input (nccl-tests "size")',
        us: 'per call, from the first rank\'s start to the last rank\'s end (after a barrier), median over repeats',
        busbw: 'algbw * (N-1)/N, GB/s = 1e9 B/s',
        memcpy: 'every rank copies `bytes` between two tensors at the same time; bw = bytes / us',
      },
      transport: comm.transport(),
      loadAverage: { start: loadStart, end: os.loadavg() },
      rows,
    };
    fs.writeFileSync(json, JSON.stringify(doc, null, 1));
    console.log(`# load average at the end: ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
    console.log(`results: ${json}`);
  }
  comm.close();
}

if (process.env[WORKER_ENV]) {
  worker();
} else if (require.main === module) {
  const args = process.argv.slice(2);
  const kind = args[0] as CollectiveKind;
  const nproc = Number(args[1] ?? 2);
  const i = args.indexOf('--json');
  const m = args.indexOf('--max-mib');
  const maxBytes = m >= 0 ? Number(args[m + 1]) * (1 << 20) : 256 << 20;
  benchCollectives(kind, nproc, i >= 0 ? args[i + 1] : undefined, maxBytes).then((code) => {
    process.exitCode = code;
  });
}
