// Peak memory of each rank during a ZeRO-1 checkpoint save, sharded (every rank writes its own
// optimizer shard) beside consolidated (the whole fp32 state gathered on every rank, rank 0
// writes it: the format before shards). Each format runs as its own job of --nproc ranks: a
// model of --config in bf16, Muon under ZeRO-1, one optimizer step, then the save; each rank
// reports its resident set before the save and its peak during it (VmHWM, reset just before).
// `npx tsx bench/checkpoint-memory.ts [--config small] [--nproc 2] [--json FILE]`.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { init } from '../lib/parallel/comm';
import { launch } from '../lib/parallel/launch';
import { ZeroOptimizer } from '../lib/parallel/zero';
import { resolveConfig } from '../lib/cli/info';
import { MoonlightModel } from '../lib/nn/model';
import { Muon } from '../lib/optim/muon';
import { saveCheckpoint, saveShardedCheckpoint } from '../lib/train/checkpoint';

type Format = 'sharded' | 'consolidated';

interface RankMemory {
  rank: number;
  rssBefore: number;
  peakDuringSave: number;
  seconds: number;
}

const status = () => fs.readFileSync('/proc/self/status', 'utf8');
const kib = (field: string) => 1024 * Number(new RegExp(`${field}:\\s*(\\d+)`).exec(status())![1]);

/** One rank: build, step, save in `format`, write the rank's numbers to report/rank-<r>.json. */
function rank(config: string, format: Format, out: string, report: string): void {
  const comm = init();
  const model = new MoonlightModel(resolveConfig(config), { precision: 'bf16', seed: 1 });
  const opt = new ZeroOptimizer(new Muon([], { lr: 1e-3 }), comm, model.parameters());
  opt.step();  // zero gradients: the state is allocated and written, as after a real step
  (globalThis as { gc?: () => void }).gc?.();
  comm.barrier();
  const rssBefore = kib('VmRSS');
  fs.writeFileSync('/proc/self/clear_refs', '5');  // resets VmHWM to the current RSS
  const t0 = process.hrtime.bigint();
  const state = { step: 1, tokens: 0, seed: 1 };
  if (format === 'sharded') saveShardedCheckpoint(out, model, opt.shard(), comm, state);
  else {
    const dict = opt.stateDict();
    if (comm.rank === 0) saveCheckpoint(out, model, dict, state);
  }
  comm.barrier();
  const r: RankMemory = { rank: comm.rank, rssBefore, peakDuringSave: kib('VmHWM'), seconds: Number(process.hrtime.bigint() - t0) / 1e9 };
  fs.writeFileSync(path.join(report, `rank-${comm.rank}.json`), JSON.stringify(r));
  comm.close();
}

async function job(config: string, nproc: number, format: Format): Promise<RankMemory[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'moontrain-ckmem-'));
  try {
    const out = path.join(dir, 'run'), report = path.join(dir, 'report');
    fs.mkdirSync(out);
    fs.mkdirSync(report);
    const code = await launch({ nproc, argv: ['--expose-gc', ...process.execArgv, __filename, '--rank', config, format, out, report] });
    if (code !== 0) throw new Error(`bench checkpoint-memory: the ${format} job failed (exit ${code})`);
    return Array.from({ length: nproc }, (_, r) => JSON.parse(fs.readFileSync(path.join(report, `rank-${r}.json`), 'utf8')) as RankMemory);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function main(args: string[]): Promise<void> {
  const flag = (name: string, def: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : def);
  const config = flag('--config', 'small'), nproc = Number(flag('--nproc', '2'));
  const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;
  const results: Record<string, RankMemory[]> = {};
  for (const format of ['consolidated', 'sharded'] as const) {
    results[format] = await job(config, nproc, format);
    for (const r of results[format])
      console.log(`${config} x${nproc} ${format.padEnd(12)} rank ${r.rank}: RSS ${mib(r.rssBefore)} before the save, peak ${mib(r.peakDuringSave)} during it (+${mib(r.peakDuringSave - r.rssBefore)}), ${r.seconds.toFixed(2)} s`);
  }
  const json = args.includes('--json') ? args[args.indexOf('--json') + 1] : undefined;
  if (json) fs.writeFileSync(json, `${JSON.stringify({ date: new Date().toISOString().slice(0, 10), host: os.cpus()[0]?.model, config, nproc, precision: 'bf16', optimizer: 'muon', ...results }, null, 2)}\n`);
}

if (process.argv[2] === '--rank') rank(process.argv[3], process.argv[4] as Format, process.argv[5], process.argv[6]);
else main(process.argv.slice(2)).catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
