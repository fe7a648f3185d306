// Side-by-side timing: each case runs its candidates interleaved (A B A B ...) and reports the
// median, so machine noise hits both alike.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { info } from '../lib/runtime';
import { packageRoot } from '../lib/native';

export interface Candidate {
  name: string;
  run: () => void;
}

export interface CaseResult {
  case: string;
  shape: string;
  dtype: string;
  flops: number;
  results: { name: string; medianMs: number; gflops: number; samples: number[] }[];
}

export function timeInterleaved(candidates: Candidate[], repeats: number): number[][] {
  for (const c of candidates) c.run();  // warm-up: caches, pages, thread start
  const samples: number[][] = candidates.map(() => []);
  for (let r = 0; r < repeats; ++r) {
    candidates.forEach((c, i) => {
      const t0 = process.hrtime.bigint();
      c.run();
      samples[i].push(Number(process.hrtime.bigint() - t0) / 1e6);
    });
  }
  return samples;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function runCase(name: string, shape: string, dtype: string, flops: number, candidates: Candidate[], repeats: number): CaseResult {
  const samples = timeInterleaved(candidates, repeats);
  const results = candidates.map((c, i) => {
    const ms = median(samples[i]);
    return { name: c.name, medianMs: ms, gflops: flops / (ms * 1e6), samples: samples[i] };
  });
  const r: CaseResult = { case: name, shape, dtype, flops, results };
  printCase(r);
  return r;
}

function printCase(r: CaseResult): void {
  const base = r.results[r.results.length - 1];
  const cols = r.results.map((x) => `${x.name} ${x.medianMs.toFixed(2)} ms ${x.gflops.toFixed(1)} GFLOP/s`);
  const ratio = r.results.length > 1 ? `  ratio ${(base.medianMs / r.results[0].medianMs).toFixed(2)}x` : '';
  const i = info();
  console.log(`${r.case.padEnd(8)} ${r.shape.padEnd(22)} ${r.dtype.padEnd(5)} ${i.isa}/${i.threads}t  ${cols.join(' | ')}${ratio}`);
}

export interface AnchorAddon {
  info(): { available: boolean; error?: string; config?: string };
  setThreads(n: number): void;
  sgemm(m: number, n: number, k: number, a: Float32Array, b: Float32Array, c: Float32Array, ta: boolean, tb: boolean): void;
  newtonSchulz(x: Float32Array, m: number, n: number, steps: number): void;
  peak(kind: 'avx2-fma-f32' | 'avx512-fma-f32' | 'avx512-dpbf16', threads: number): number | null;
}

let anchors: AnchorAddon | null | undefined;

// The bench-only addon (build/bench/bench_anchors.node), or undefined when it was not built.
export function loadBenchAnchors(): AnchorAddon | undefined {
  if (anchors === undefined) {
    const file = path.join(packageRoot, 'build', 'bench', 'bench_anchors.node');
    // OpenBLAS's worker threads spin for ~2^28 cycles after each call (THREAD_TIMEOUT), stealing
    // the cores from whatever runs next; interleaved timing needs them asleep at once.
    process.env.OPENBLAS_THREAD_TIMEOUT ??= '4';
    anchors = fs.existsSync(file) ? (require(file) as AnchorAddon) : null;
    if (!anchors) console.log(`anchors: ${file} is missing (built by \`npm run build\`); running without OpenBLAS`);
  }
  return anchors ?? undefined;
}

export function loadOpenBlas(): AnchorAddon | undefined {
  const a = loadBenchAnchors();
  if (!a) return undefined;
  const i = a.info();
  if (!i.available) {
    console.log(`anchor: ${i.error}; running without OpenBLAS`);
    return undefined;
  }
  a.setThreads(info().threads);
  return a;
}

// GFLOP/s of register-only FMA / VDPBF16PS loops on all threads: the ceiling for this run.
export function measurePeaks(): Record<string, number> {
  const a = loadBenchAnchors();
  const out: Record<string, number> = {};
  if (!a) return out;
  for (const kind of ['avx2-fma-f32', 'avx512-fma-f32', 'avx512-dpbf16'] as const) {
    if (kind === 'avx512-dpbf16' && !info().isaAvailable.includes('avx512bf16')) continue;
    const g = a.peak(kind, info().threads);
    if (g !== null) out[kind] = Math.round(g);
  }
  return out;
}

export function machine(): Record<string, unknown> {
  const flags = (() => {
    try {
      const line = fs.readFileSync('/proc/cpuinfo', 'utf8').split('\n').find((l) => l.startsWith('flags'));
      return (line ?? '').split(':')[1].trim().split(/\s+/).filter((f) => /avx|amx|fma|sse4_2|f16c/.test(f));
    } catch {
      return [];
    }
  })();
  const i = info();
  return { cpu: os.cpus()[0]?.model, cores: os.cpus().length, flags, isa: i.isa, threads: i.threads, node: process.version, peakGflops: measurePeaks() };
}

export function randomArray(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; ++i) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    out[i] = (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  }
  return out;
}

export function writeResults(kind: string, cases: CaseResult[], file?: string, extra?: Record<string, unknown>): string {
  const date = new Date().toISOString().slice(0, 10);
  const out = file ?? path.join(packageRoot, 'bench', 'results', `${date}-cpu-${kind}.json`);
  fs.mkdirSync(path.dirname(out), { recursive: true });
  const tmp = `${out}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify({ kind, date: new Date().toISOString(), machine: machine(), cases, ...extra }, null, 1));
  fs.renameSync(tmp, out);
  return out;
}
