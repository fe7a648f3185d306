// MPI: the library opened at run time, launchers recognized from their environment, and the
// collectives of an MPI job checked on one host and across two "hosts" (network namespaces joined
// by a veth pair, each with its own hostname): hierarchical (rings inside, MPI across) and flat.
// Also: training gives the same losses on 1 process, 4 ranks of one host and 2 hosts x 2 ranks,
// and a rank killed on one host stops the whole job.
import test from 'ava';
import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { detectMpiLaunch, mpiBackend } from '../../lib/parallel/mpi-env';
import { writeMicroRun } from '../helpers/micro-run';
import { createTwoHosts, type TwoHosts } from '../helpers/two-hosts';

const root = path.join(__dirname, '..', '..');
const WORKER = path.join(root, 'test', 'helpers', 'mpi-worker.ts');
const CLI = path.join(root, 'lib', 'cli.ts');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-mpi-'));
const hasOpenMpi = /Open MPI/.test(spawnSync('mpirun', ['--version'], { encoding: 'utf8' }).stdout ?? '');
const hasMpich = spawnSync('mpiexec.mpich', ['--version'], { encoding: 'utf8' }).status === 0;
const rootEnv = { OMPI_ALLOW_RUN_AS_ROOT: '1', OMPI_ALLOW_RUN_AS_ROOT_CONFIRM: '1' };

let hosts: TwoHosts | string = 'not created';
test.before(() => {
  hosts = createTwoHosts();
  if (typeof hosts === 'string') console.log(`two-host MPI tests skipped: ${hosts}`);
});
test.after.always(() => {
  if (typeof hosts !== 'string') hosts.remove();
  fs.rmSync(tmp, { recursive: true, force: true });
});

function freshDir(name: string): string {
  const d = path.join(tmp, name);
  fs.mkdirSync(d, { recursive: true });
  return d;
}

interface RankReport {
  rank: number;
  checks: number;
  failures: string[];
  transport: { backend: string; hosts: number; host: number; hostName: string; localRank: number; localSize: number };
}

function reports(dir: string, n: number): (RankReport | undefined)[] {
  return Array.from({ length: n }, (_, r) => {
    const f = path.join(dir, `rank-${r}.json`);
    return fs.existsSync(f) ? (JSON.parse(fs.readFileSync(f, 'utf8')) as RankReport) : undefined;
  });
}

function local(cmd: string, args: string[], env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const c = spawn(cmd, args, { env: { ...process.env, ...rootEnv, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    c.stdout.on('data', (d) => (output += d));
    c.stderr.on('data', (d) => (output += d));
    const timer = setTimeout(() => c.kill('SIGKILL'), 120000);
    c.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

test('info().mpi names the library and its version, or why none; the addon loads without MPI', (t) => {
  const show = (env: Record<string, string>) =>
    spawnSync(process.execPath, ['--import=tsx', '-e', "console.log(JSON.stringify(require('./lib').info().mpi))"], { cwd: root, env: { ...process.env, ...env }, encoding: 'utf8' });
  const none = show({ MOONTRAIN_MPI_LIB: '/nonexistent/libmpi.so' });
  t.is(none.status, 0, none.stderr);
  const n = JSON.parse(none.stdout);
  t.false(n.available);
  t.regex(n.reason, /MOONTRAIN_MPI_LIB: \/nonexistent\/libmpi\.so/);
  const cli = spawnSync(process.execPath, ['--import=tsx', CLI, 'info'], { cwd: root, env: { ...process.env, MOONTRAIN_MPI_LIB: '/nonexistent/libmpi.so' }, encoding: 'utf8' });
  t.regex(cli.stdout, /MPI: not available \(MOONTRAIN_MPI_LIB: \/nonexistent/);
  // A file that is no MPI library at all.
  const libc = JSON.parse(show({ MOONTRAIN_MPI_LIB: 'libc.so.6' }).stdout);
  t.false(libc.available);
  t.regex(libc.reason, /not an MPI-3 library|neither Open MPI/);
  if (hasOpenMpi) {
    const o = JSON.parse(show({ MOONTRAIN_MPI_LIB: 'libmpi.so.40' }).stdout);
    t.like(o, { available: true, library: 'Open MPI', abi: 'openmpi', path: 'libmpi.so.40' });
    t.regex(o.version, /^Open MPI v\d/);
  }
  if (hasMpich) {
    const m = JSON.parse(show({ MOONTRAIN_MPI_LIB: 'libmpich.so.12' }).stdout);
    t.like(m, { available: true, library: 'MPICH', abi: 'mpich' });
    t.regex(m.version, /MPICH Version:\s+4/);
  }
});

test('launchers are recognized from their environment', (t) => {
  t.is(detectMpiLaunch({}), null);
  t.deepEqual(detectMpiLaunch({ OMPI_COMM_WORLD_RANK: '3', OMPI_COMM_WORLD_SIZE: '4', OMPI_COMM_WORLD_LOCAL_SIZE: '2' }),
    { launcher: 'openmpi', rank: 3, size: 4, localSize: 2 });
  t.deepEqual(detectMpiLaunch({ PMI_RANK: '1', PMI_SIZE: '2', MPI_LOCALNRANKS: '2' }), { launcher: 'pmi', rank: 1, size: 2, localSize: 2 });
  t.deepEqual(detectMpiLaunch({ OMPI_COMM_WORLD_RANK: '3', OMPI_COMM_WORLD_SIZE: '4', OMPI_COMM_WORLD_LOCAL_RANK: '1' }), { launcher: 'openmpi', rank: 3, size: 4, localSize: undefined, localRank: 1 });
  t.like(detectMpiLaunch({ PMI_RANK: '1', PMI_SIZE: '2', MPI_LOCALRANKID: '0' }), { localRank: 0 });
  t.deepEqual(detectMpiLaunch({ SLURM_PROCID: '5', SLURM_NTASKS: '8', SLURM_LOCALID: '1', SLURM_STEP_ID: '0', SLURM_NTASKS_PER_NODE: '4' }),
    { launcher: 'slurm', rank: 5, size: 8, localSize: 4, localRank: 1 });
  // An sbatch script's own shell (no job step) is not a rank.
  t.is(detectMpiLaunch({ SLURM_PROCID: '0', SLURM_NTASKS: '8' }), null);
  t.throws(() => detectMpiLaunch({ OMPI_COMM_WORLD_RANK: '4', OMPI_COMM_WORLD_SIZE: '4' }), { message: /OMPI_COMM_WORLD_RANK: expected an integer in \[0, 3\], got '4'/ });
  // train: the launcher starts the ranks, so --nproc under it is a usage error (before MPI starts).
  const env = { ...process.env, OMPI_COMM_WORLD_RANK: '0', OMPI_COMM_WORLD_SIZE: '2' };
  const r = spawnSync(process.execPath, ['--import=tsx', CLI, 'train', '--config', 'tiny', '--data', 'x', '--nproc', '2'], { cwd: root, env, encoding: 'utf8' });
  t.not(r.status, 0);
  t.regex(r.stderr, /--nproc 2 under mpirun: the launcher starts the ranks/);
  t.is(mpiBackend({}), 'hier');
  t.is(mpiBackend({ MOONTRAIN_COMM: 'mpi' }), 'mpi');
  t.throws(() => mpiBackend({ MOONTRAIN_COMM: 'nccl' }), { message: /MOONTRAIN_COMM: expected 'hier' or 'mpi'.*got 'nccl'/ });
});

const oneHost = hasOpenMpi ? test.serial : test.skip;
oneHost('one host under mpirun: hierarchical (4 ranks: the ring) and flat MPI (3 ranks)', async (t) => {
  for (const [n, backend] of [[4, 'hier'], [3, 'mpi']] as const) {
    const dir = freshDir(`one-${backend}`);
    const r = await local('mpirun', ['--oversubscribe', '-n', String(n), '-x', 'DIST_OUT', '-x', 'MOONTRAIN_COMM', process.execPath, '--import=tsx', WORKER],
      { DIST_OUT: dir, MOONTRAIN_COMM: backend });
    t.is(r.code, 0, r.output);
    for (const [rank, rep] of reports(dir, n).entries()) {
      t.truthy(rep, `rank ${rank} wrote nothing`);
      t.deepEqual(rep?.failures, [], `${backend} rank ${rank}`);
      t.true((rep?.checks ?? 0) >= 80);
      t.like(rep?.transport, { backend, hosts: 1, localSize: n, localRank: rank });
    }
  }
});

(hasMpich ? test.serial : test.skip)('MPICH (its own ABI) under its mpiexec, found without MOONTRAIN_MPI_LIB: hierarchical, 3 ranks', async (t) => {
  const dir = freshDir('mpich');
  // No MOONTRAIN_MPI_LIB: under Hydra (PMI_RANK) the MPICH library is opened first.
  const r = await local('mpiexec.mpich', ['-n', '3', process.execPath, '--import=tsx', WORKER], { DIST_OUT: dir });
  t.is(r.code, 0, r.output);
  for (const rep of reports(dir, 3)) {
    t.deepEqual(rep?.failures, []);
    t.like(rep?.transport, { backend: 'hier', hosts: 1, localSize: 3 });
  }
});

function twoHostTest(title: string, body: (t: import('ava').ExecutionContext, h: TwoHosts) => Promise<void>) {
  test.serial(title, async (t) => {
    if (typeof hosts === 'string') {
      if (process.env.MOONTRAIN_REQUIRE_TWO_HOSTS === '1') t.fail(`MOONTRAIN_REQUIRE_TWO_HOSTS is set but ${hosts}`);
      t.log(`skipped: ${hosts}`);
      t.pass();
      return;
    }
    await body(t, hosts);
  });
}

for (const [label, backend, mapBy] of [['hierarchical, ranks by slot', 'hier', 'slot'], ['hierarchical, ranks round-robin over hosts', 'hier', 'node'], ['flat MPI', 'mpi', 'slot']] as const) {
  twoHostTest(`2 hosts x 2 ranks over TCP between network namespaces: ${label}`, async (t, h) => {
    const dir = freshDir(`two-${backend}-${mapBy}`);
    const r = await h.mpirun(4, ['--import=tsx', WORKER], { env: { DIST_OUT: dir, MOONTRAIN_COMM: backend }, mpirunArgs: ['--map-by', mapBy] });
    t.is(r.code, 0, r.output);
    const reps = reports(dir, 4);
    for (const [rank, rep] of reps.entries()) {
      t.deepEqual(rep?.failures, [], `rank ${rank}`);
      t.true((rep?.checks ?? 0) >= 80);
      // Ranks by slot: 0, 1 on the first host; round-robin: 0, 2 there.
      const host = mapBy === 'slot' ? rank >> 1 : rank & 1;
      t.like(rep?.transport, { backend, hosts: 2, host, hostName: h.names[host], localSize: 2 });
    }
  });
}

const { config, data } = writeMicroRun(tmp);
const trainArgs = (out: string) => [CLI, 'train', '--config', config, '--data', data, '--batch-size', '12', '--seq-len', '16', '--steps', '20',
  '--eval-every', '10', '--eval-batches', '4', '--precision', 'f32', '--lr', '0.01', '--warmup', '2', '--optimizer', 'muon', '--out', out];
const losses = (out: string) => fs.readFileSync(path.join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).loss as number);

oneHost('bench step under mpirun -n 2: each rank\'s tokens/s and the job\'s, for Muon and AdamW', async (t) => {
  const json = path.join(tmp, 'bench-step.json');
  const r = await local('mpirun', ['--oversubscribe', '-n', '2', process.execPath, '--import=tsx', CLI, 'bench', 'step', '--config', config,
    '--batch-size', '4', '--seq-len', '16', '--json', json], {});
  t.is(r.code, 0, r.output);
  t.regex(r.output, /zero1 .* muon {2}2 ranks \(mpirun, hier, 1 host\): step [\d.]+ ms/);
  t.regex(r.output, /per rank: rank 0 [\d.]+ ms \d+ tok\/s, rank 1 [\d.]+ ms \d+ tok\/s; aggregate \d+ tok\/s/);
  const rows = JSON.parse(fs.readFileSync(json, 'utf8')).zero1 as { optimizer: string; nproc: number; stepMs: number; tokensPerS: number; perRank: { stepMs: number; tokensPerS: number }[] }[];
  t.deepEqual(rows.map((x) => [x.optimizer, x.nproc]), [['muon', 2], ['adamw', 2]]);
  for (const row of rows) {
    t.is(row.perRank.length, 2);
    // Each rank computes 2 of the 4 sequences; the job runs at its slowest rank's pace.
    for (const p of row.perRank) t.true(p.stepMs > 0 && Math.abs(p.tokensPerS - (2 * 16 * 1000) / p.stepMs) < 1e-6 * p.tokensPerS);
    t.is(row.stepMs, Math.max(...row.perRank.map((p) => p.stepMs)));
    t.true(Math.abs(row.tokensPerS - (4 * 16 * 1000) / row.stepMs) < 1e-6 * row.tokensPerS);
  }
  // The launcher starts the ranks: --nproc under it is a usage error.
  const env = { ...process.env, OMPI_COMM_WORLD_RANK: '0', OMPI_COMM_WORLD_SIZE: '2' };
  const u = spawnSync(process.execPath, ['--import=tsx', CLI, 'bench', 'step', '--nproc', '2'], { cwd: root, env, encoding: 'utf8' });
  t.is(u.status, 2);
  t.regex(u.stderr, /bench step: --nproc under mpirun: the launcher starts the ranks/);
});

test.serial('bench step --nproc 2 (our own launcher, no MPI): Muon and AdamW on 1 and 2 ranks', (t) => {
  const json = path.join(tmp, 'bench-step-nproc.json');
  const r = spawnSync(process.execPath, ['--import=tsx', CLI, 'bench', 'step', '--nproc', '2', '--config', config, '--batch-size', '4', '--seq-len', '16', '--json', json], { cwd: root, encoding: 'utf8' });
  t.is(r.status, 0, r.stderr);
  const rows = JSON.parse(fs.readFileSync(json, 'utf8')).zero1 as { optimizer: string; nproc: number; perRank: unknown[] }[];
  t.deepEqual(rows.map((x) => [x.optimizer, x.nproc, x.perRank.length]), [['muon', 1, 1], ['muon', 2, 2], ['adamw', 1, 1], ['adamw', 2, 2]]);
});

twoHostTest('training: 1 process, 4 ranks on one host and 2 hosts x 2 ranks give the same losses (f32, 20 steps)', async (t, h) => {
  const one = path.join(tmp, 'train-1'), four = path.join(tmp, 'train-4'), two = path.join(tmp, 'train-2x2');
  const a = spawnSync(process.execPath, ['--import=tsx', ...trainArgs(one)], { cwd: root, encoding: 'utf8' });
  t.is(a.status, 0, a.stderr);
  const b = spawnSync(process.execPath, ['--import=tsx', ...trainArgs(four), '--nproc', '4'], { cwd: root, encoding: 'utf8' });
  t.is(b.status, 0, b.stderr);
  const c = await h.mpirun(4, ['--import=tsx', ...trainArgs(two)], { timeoutMs: 300000 });
  t.is(c.code, 0, c.output);
  t.regex(c.output, /x 4 ranks/);
  // Every rank, on either host, wrote its optimizer shard into the one checkpoint.
  t.deepEqual(fs.readdirSync(path.join(two, 'checkpoint')).filter((f) => f.startsWith('optimizer-rank-')).sort(), [0, 1, 2, 3].map((r) => `optimizer-rank-${r}-of-4.safetensors`));
  const base = losses(one);
  t.is(base.length, 20);
  for (const [name, out] of [['4 ranks, one host', four], ['2 hosts x 2 ranks', two]]) {
    const l = losses(out);
    t.is(l.length, 20, name);
    const worst = Math.max(...l.map((v, i) => Math.abs(v - base[i]) / base[i]));
    t.true(worst <= 1e-5, `${name}: worst relative loss difference ${worst}`);
  }
});

twoHostTest('a rank killed on one host stops the whole job within 10 s, naming the rank and host; nothing left behind', async (t, h) => {
  const dir = freshDir('kill');
  const before = new Set(fs.readdirSync('/dev/shm'));
  const r = await h.mpirun(4, ['--import=tsx', WORKER], { env: { DIST_OUT: dir, MPI_SCENARIO: 'kill' }, timeoutMs: 60000 });
  t.not(r.code, 0);
  const killedAt = Number(fs.readFileSync(path.join(dir, 'killed-at'), 'utf8'));
  const stoppedIn = Date.now() - killedAt;
  t.log(`the job stopped ${stoppedIn} ms after the kill`);
  t.true(stoppedIn < 10000, `the job ran on for ${stoppedIn} ms after the kill`);
  // Named by mpirun ("rank 3 ... on node B"), or by the ranks themselves when their ring notices the
  // death before mpirun does (then mpirun reports the first rank that exited with that Error).
  t.regex(r.output, new RegExp(`rank 3 .*on node ${h.names[1]}|host '${h.names[1]}': its ring rank \\d+ is world rank 3`), r.output);
  for (let rank = 0; rank < 4; ++rank) {
    const [pid, host] = fs.readFileSync(path.join(dir, `pid-${rank}`), 'utf8').split(' ');
    t.is(host, h.names[rank >> 1]);
    t.throws(() => process.kill(Number(pid), 0), undefined, `rank ${rank} (pid ${pid}) is still running`);
  }
  const left = fs.readdirSync('/dev/shm').filter((f) => !before.has(f) && f.startsWith('moontrain-'));
  t.deepEqual(left, []);
});
