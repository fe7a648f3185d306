// Entry for `moontrain bench` / `npm run bench -- <kind>`.
import { benchGemm } from './gemm';
import { benchGrouped } from './grouped';
import { CaseResult, machine, writeResults } from './harness';
import { benchNewtonSchulz } from './newton-schulz';
import { UsageError } from '../lib/cli/args';
import { benchStep } from './step';
import { resolveConfig } from '../lib/cli/info';
import { info } from '../lib/runtime';
import { detectMpiLaunch } from '../lib/parallel/mpi-env';
import type { ZeroStepRow } from './step-dist-worker';
import { zeroStep } from './step-dist-worker';

export type BenchKind = 'gemm' | 'grouped' | 'ns' | 'step' | 'all';

/** What `bench step` runs: configs (preset names or config.json paths), precision, batch, sequence. */
export interface StepOptions {
  configs: string[];
  precision: 'bf16' | 'f32';
  device?: 'cpu' | 'cuda';
  batch?: number;
  seq: number;
}

const defaultStep: StepOptions = { configs: ['tiny', 'small'], precision: 'bf16', seq: 128 };

export function runBench(kind: BenchKind, repeats: number, quick: boolean, json?: string, step: StepOptions = defaultStep): void {
  console.log(JSON.stringify(machine()));
  const cases: CaseResult[] = [];
  if (kind === 'gemm' || kind === 'all')
    cases.push(...benchGemm(repeats, quick ? [[256, 256, 256], [512, 512, 512]] : undefined));
  if (kind === 'ns' || kind === 'all') cases.push(...benchNewtonSchulz(repeats, quick ? [[1, 256, 704]] : undefined));
  if (kind === 'grouped' || kind === 'all') cases.push(...(quick ? benchGrouped(repeats, 8, 2048, 128, 256) : benchGrouped(repeats)));
  const steps = kind === 'step' || kind === 'all'
    ? step.configs.map((c) => benchStep(c, resolveConfig(c), step.precision, step.batch ?? (quick ? 4 : 16), step.seq, quick ? 2 : 5, 3, step.device))
    : [];
  console.log(`results: ${writeResults(kind, cases, json, steps.length ? { steps } : undefined)}`);
}

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

function describeZeroRow(row: ZeroStepRow, ranks: string): string {
  return `zero1 ${row.config} ${row.precision} ${row.optimizer.padEnd(5)} ${ranks}: step ${row.stepMs.toFixed(1)} ms (${Math.round(row.tokensPerS)} tok/s), optimizer ${(100 * row.optimizerShare).toFixed(1)}% of it, ` +
    `${(row.bytesPerStep.reduceScatter / 1e6).toFixed(2)} MB reduce-scatter + ${(row.bytesPerStep.allGather / 1e6).toFixed(2)} MB all-gather per rank per step ` +
    `(${row.bytesPerParam.toFixed(2)} bytes/param), optimizer state ${(row.optimizerStateBytesPerRank / 1e6).toFixed(2)} MB per rank`;
}

function summarizeMuonAdamw(rows: ZeroStepRow[], nproc: number, label: string, json?: string): void {
  const muon = rows.find((r) => r.optimizer === 'muon' && r.nproc === nproc)!;
  const adamw = rows.find((r) => r.optimizer === 'adamw' && r.nproc === nproc)!;
  console.log(`communication Muon / AdamW at ${nproc} ranks: ${(muon.bytesPerParam / adamw.bytesPerParam).toFixed(4)} (Moonlight bounds it in (1, 1.25])`);
  console.log(`results: ${writeResults(label, [], json, { zero1: rows })}`);
}

/**
 * `bench step --nproc N`: ZeRO-1 steps of one config (default tiny, 16 x 128 tokens, bf16) with
 * Muon and AdamW on 1 and on N ranks: tokens/s, the optimizer's share of the step, bytes each
 * collective moved per step and the optimizer state per rank.
 */
async function benchStepDistributed(nproc: number, step: StepOptions, json?: string): Promise<void> {
  const path = require('path') as typeof import('path');
  const { spawnSync } = require('child_process') as typeof import('child_process');
  const worker = path.join(__dirname, 'step-dist-worker' + path.extname(__filename));
  const config = step.configs.length === 1 ? step.configs[0] : 'tiny';
  const batch = step.batch ?? 16;
  if (batch % nproc !== 0) throw new UsageError(`moontrain bench step: --batch-size ${batch} must divide evenly over --nproc ${nproc}`);
  const rows: ZeroStepRow[] = [];
  for (const kind of ['muon', 'adamw']) {
    for (const n of [1, nproc]) {
      const args = [config, kind, step.precision, String(batch), String(step.seq), '10'];
      const r = spawnSync(process.execPath, [...process.execArgv, path.join(__dirname, '..', 'lib', 'cli' + path.extname(__filename)), 'bench-rank', String(n), worker, ...args], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`bench step --nproc: the ranks failed: ${r.stderr}`);
      const row = JSON.parse(r.stdout.trim().split('\n').filter((l) => l.startsWith('{')).pop()!) as ZeroStepRow;
      rows.push(row);
      console.log(describeZeroRow(row, `nproc ${n}`));
    }
  }
  summarizeMuonAdamw(rows, nproc, `zero1-step-${path.basename(config, '.json')}-n${nproc}`, json);
}

/**
 * `bench step` as a rank of mpirun / srun: ZeRO-1 steps of one config with Muon and AdamW on the
 * job's ranks (its communicator: MOONTRAIN_COMM, hierarchical by default). Rank 0 prints each
 * rank's tokens/s and the job's (the whole batch over the slowest rank's step time).
 */
function benchStepMpi(launcher: string, step: StepOptions, json?: string): number {
  const { init } = require('../lib/parallel/comm') as typeof import('../lib/parallel/comm');
  const path = require('path') as typeof import('path');
  const comm = init();
  const config = step.configs.length === 1 ? step.configs[0] : 'tiny';
  const batch = step.batch ?? 16;
  try {
    if (batch % comm.size !== 0) throw new UsageError(`moontrain bench step: --batch-size ${batch} must divide evenly over the ${comm.size} ranks of ${launcher}`);
    const where = `${comm.size} ranks (${launcher}, ${comm.transport().backend}, ${comm.transport().hosts} host${comm.transport().hosts === 1 ? '' : 's'})`;
    const rows = ['muon', 'adamw'].map((kind) => zeroStep(comm, config, kind, step.precision, batch, step.seq, 10));
    if (comm.rank === 0) {
      console.log(JSON.stringify(machine()));
      for (const row of rows) {
        console.log(describeZeroRow(row, where));
        console.log(`  per rank: ${row.perRank.map((r, i) => `rank ${i} ${r.stepMs.toFixed(1)} ms ${Math.round(r.tokensPerS)} tok/s`).join(', ')}; aggregate ${Math.round(row.tokensPerS)} tok/s`);
      }
      summarizeMuonAdamw(rows, comm.size, `zero1-step-${path.basename(config, '.json')}-${launcher}-n${comm.size}`, json);
    }
  } finally {
    comm.close();
  }
  return 0;
}

export async function benchCommand(args: string[]): Promise<number> {
  const nproc = Number(flag(args, '--nproc') ?? 1);
  if (args[0] === 'allgather' || args[0] === 'reducescatter') {
    const backend = flag(args, '--backend') ?? 'shm';
    if (backend === 'hier' || backend === 'mpi') {
      const mib = (name: string, d: number) => Number(flag(args, name) ?? d) * (1 << 20);
      const { benchCollectivesMpi } = require('./collectives-mpi') as typeof import('./collectives-mpi');
      return benchCollectivesMpi({ kind: args[0], backend, minBytes: mib('--min-mib', 16), maxBytes: mib('--max-mib', 256), repeats: Number(flag(args, '--repeats') ?? 5), json: flag(args, '--json') });
    }
    if (backend !== 'shm') throw new UsageError(`moontrain bench ${args[0]}: --backend: expected shm, hier or mpi, got '${backend}'`);
    if (!(Number.isInteger(nproc) && nproc >= 2)) throw new UsageError(`moontrain bench ${args[0]}: --nproc: expected an integer >= 2, got '${flag(args, '--nproc') ?? ''}'`);
    const { benchCollectives } = require('./collectives') as typeof import('./collectives');
    return benchCollectives(args[0], nproc, flag(args, '--json'));
  }
  if (args[0] === 'cuda') {
    const { benchCuda, cudaCases } = require('./cuda') as typeof import('./cuda');
    const quick = args.includes('--quick');
    const cases = benchCuda(Number(flag(args, '--repeats') ?? (quick ? 3 : 7)), quick);
    const gpu = info().cuda.devices[0]?.name ?? 'unknown GPU';
    console.log(`results: ${writeResults('cuda', [], flag(args, '--json'), { cases, reference: cudaCases(quick).reference, gpu })}`);
    return 0;
  }
  if (args[0] === 'cuda-summary') {
    // bench cuda-summary OURS.json TORCH.json [STEP.json] --out summary.md
    const [ours, torch, step] = args.slice(1).filter((x, i, all) => !x.startsWith('--') && all[i - 1] !== '--out');
    if (!ours || !torch) throw new UsageError('moontrain bench cuda-summary: expected OURS.json TORCH.json [STEP.json] --out FILE');
    const { cudaSummary } = require('./cuda-summary') as typeof import('./cuda-summary');
    return cudaSummary(ours, torch, step, flag(args, '--out') ?? 'summary.md') ? 0 : 1;
  }
  const mpi = args[0] === 'step' && process.env.WORLD_SIZE === undefined ? detectMpiLaunch(process.env) : null;
  if (mpi) {
    const launcher = mpi.launcher === 'slurm' ? 'srun' : 'mpirun';
    if (flag(args, '--nproc') !== undefined) throw new UsageError(`moontrain bench step: --nproc under ${launcher}: the launcher starts the ranks (-n / --ntasks); drop --nproc`);
    return benchStepMpi(launcher, stepOptions(args), flag(args, '--json'));
  }
  if (args[0] === 'step' && nproc > 1) {
    await benchStepDistributed(nproc, stepOptions(args), flag(args, '--json'));
    return 0;
  }
  const kind = args[0];
  const quick = args.includes('--quick');
  const repeats = Number(flag(args, '--repeats') ?? (quick ? 3 : 9));
  if (!['gemm', 'grouped', 'ns', 'step', 'all'].includes(kind)) throw new UsageError(`moontrain bench: expected gemm, grouped, ns, step, allgather, reducescatter or all, got '${kind ?? ''}'`);
  if (!(Number.isInteger(repeats) && repeats >= 1)) throw new UsageError(`moontrain bench: --repeats: expected an integer >= 1, got '${flag(args, '--repeats')}'`);
  runBench(kind as BenchKind, repeats, quick, flag(args, '--json'), stepOptions(args));
  return 0;
}

function positiveInt(args: string[], name: string): number | undefined {
  const v = flag(args, name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!(Number.isInteger(n) && n >= 1)) throw new UsageError(`moontrain bench step: ${name}: expected an integer >= 1, got '${v}'`);
  return n;
}

function stepOptions(args: string[]): StepOptions {
  const precision = flag(args, '--precision') ?? 'bf16';
  if (precision !== 'bf16' && precision !== 'f32') throw new UsageError(`moontrain bench step: --precision: expected bf16 or f32, got '${precision}'`);
  const config = flag(args, '--config');
  if (config !== undefined) resolveConfig(config);  // a clear error before any work
  const device = flag(args, '--device') ?? 'cpu';
  if (device !== 'cpu' && device !== 'cuda') throw new UsageError(`moontrain bench step: --device: expected cpu or cuda, got '${device}'`);
  return { configs: config ? [config] : defaultStep.configs, precision, device, batch: positiveInt(args, '--batch-size'), seq: positiveInt(args, '--seq-len') ?? defaultStep.seq };
}
