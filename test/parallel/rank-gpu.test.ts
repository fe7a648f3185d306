// Which GPU each rank uses: launch() gives rank r entry r mod n of the GPUs its own process sees
// (CUDA_VISIBLE_DEVICES), ranks of mpirun / srun / torchrun narrow theirs at init(), a
// single-entry or empty list is left alone, more ranks than GPUs share them with one notice.
// Every case runs real processes and reads the environment each rank ends up with.
import test from 'ava';
import { spawn, spawnSync } from 'child_process';
import * as path from 'path';
import { info } from '../../lib';

const root = path.join(__dirname, '..', '..');
const LAUNCH = path.join(root, 'lib', 'parallel', 'launch.ts');
const COMM = path.join(root, 'lib', 'parallel', 'comm.ts');
const RANK_GPU = path.join(root, 'lib', 'parallel', 'rank-gpu.ts');
const hasOpenMpi = /Open MPI/.test(spawnSync('mpirun', ['--version'], { encoding: 'utf8' }).stdout ?? '');
const hasMpich = spawnSync('mpiexec.mpich', ['--version'], { encoding: 'utf8' }).status === 0;
const rootEnv = { OMPI_ALLOW_RUN_AS_ROOT: '1', OMPI_ALLOW_RUN_AS_ROOT_CONFIRM: '1' };

/** A rank: prints `rank R gpu <its CUDA_VISIBLE_DEVICES, or -unset->`. */
const SHOW = "const v = process.env.CUDA_VISIBLE_DEVICES; console.log(`rank ${process.env.RANK ?? process.env.OMPI_COMM_WORLD_RANK ?? process.env.PMI_RANK ?? process.env.SLURM_PROCID} gpu ${v === undefined ? '-unset-' : `'${v}'`}`)";

interface Run {
  code: number | null;
  stderr: string;
  /** Each rank's CUDA_VISIBLE_DEVICES ('-unset-' when it had none), by rank. */
  gpus: string[];
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve) => {
    const c = spawn(cmd, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    c.stdout.on('data', (d) => (stdout += d));
    c.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => c.kill('SIGKILL'), 60000);
    c.on('close', (code) => {
      clearTimeout(timer);
      const gpus: string[] = [];
      for (const m of stdout.matchAll(/^rank (\d+) gpu (-unset-|'[^']*')$/gm)) gpus[Number(m[1])] = m[2] === '-unset-' ? m[2] : m[2].slice(1, -1);
      resolve({ code, stderr, gpus });
    });
  });
}

/** `moontrain`'s launcher in its own process, whose environment has CUDA_VISIBLE_DEVICES = `visible` (unset: undefined). */
function launcher(nproc: number, visible: string | undefined): Promise<Run> {
  const env = { ...process.env, CUDA_VISIBLE_DEVICES: visible };
  if (visible === undefined) delete env.CUDA_VISIBLE_DEVICES;
  const script = `require(${JSON.stringify(LAUNCH)}).launch({ nproc: ${nproc}, argv: ['-e', ${JSON.stringify(SHOW)}] }).then((c) => process.exit(c))`;
  return run(process.execPath, ['--import=tsx', '-e', script], env);
}

const notices = (stderr: string) => stderr.split('\n').filter((l) => /ranks share/.test(l));

test('launch(): rank r gets entry r mod n of the launcher\'s CUDA_VISIBLE_DEVICES; more ranks than GPUs share them with one notice', async (t) => {
  const four = await launcher(4, '3,5,7');
  t.is(four.code, 0, four.stderr);
  t.deepEqual(four.gpus, ['3', '5', '7', '3']);
  t.deepEqual(notices(four.stderr), ['moontrain: 4 ranks share 3 GPUs (3,5,7) round-robin: local rank r uses entry r mod 3 as CUDA_VISIBLE_DEVICES']);
  const two = await launcher(2, 'GPU-a1b2, GPU-c3d4');
  t.deepEqual(two.gpus, ['GPU-a1b2', 'GPU-c3d4']);
  t.deepEqual(notices(two.stderr), []);
});

test('launch(): a single-entry or empty CUDA_VISIBLE_DEVICES is left alone; unset, the CUDA devices are counted', async (t) => {
  const single = await launcher(3, '6');
  t.is(single.code, 0, single.stderr);
  t.deepEqual(single.gpus, ['6', '6', '6']);
  t.deepEqual(notices(single.stderr), []);
  const empty = await launcher(2, '');
  t.deepEqual(empty.gpus, ['', '']);
  t.deepEqual(notices(empty.stderr), [], 'an empty list is no GPU to share');
  const unset = await launcher(2, undefined);
  // This machine's CUDA devices, as the addon counts them (none without a driver).
  const count = info().cuda.devices.length;
  t.deepEqual(unset.gpus, count > 1 ? ['0', '1'] : ['-unset-', '-unset-']);
});

/** A process with `env` (a rank of another launcher) that calls useRankGpu() and shows the result. */
function rankOf(env: Record<string, string>): string {
  const script = `require(${JSON.stringify(RANK_GPU)}).useRankGpu(); ${SHOW}`;
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(CUDA_VISIBLE_DEVICES|OMPI_|PMI_|MPI_LOCAL|SLURM_|WORLD_SIZE|RANK|LOCAL_|MOONTRAIN_)/.test(k)));
  const r = spawnSync(process.execPath, ['--import=tsx', '-e', script], { cwd: root, env: { ...clean, ...env }, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return `${r.stdout.trim()}${r.stderr.includes('ranks share') ? ' +notice' : ''}${r.stderr.includes('cannot count') ? ' +cannot-count' : ''}`;
}

test('a rank of srun, MPICH\'s mpiexec or torchrun narrows CUDA_VISIBLE_DEVICES by its local rank; the notice comes from local rank 0', (t) => {
  const slurm = { SLURM_PROCID: '6', SLURM_NTASKS: '8', SLURM_STEP_ID: '0', SLURM_NTASKS_PER_NODE: '4', CUDA_VISIBLE_DEVICES: '0,1,2,3' };
  t.is(rankOf({ ...slurm, SLURM_LOCALID: '2' }), "rank 6 gpu '2'");
  t.is(rankOf({ ...slurm, SLURM_LOCALID: '2', CUDA_VISIBLE_DEVICES: '1' }), "rank 6 gpu '1'", 'one GPU per task (srun --gpus-per-task=1) is respected');
  const pmi = { PMI_SIZE: '4', MPI_LOCALNRANKS: '4', CUDA_VISIBLE_DEVICES: '4,6' };
  t.is(rankOf({ ...pmi, PMI_RANK: '0', MPI_LOCALRANKID: '0' }), "rank 0 gpu '4' +notice");
  t.is(rankOf({ ...pmi, PMI_RANK: '3', MPI_LOCALRANKID: '3' }), "rank 3 gpu '6'");
  t.is(rankOf({ WORLD_SIZE: '3', RANK: '2', LOCAL_RANK: '2', CUDA_VISIBLE_DEVICES: '3,5,7' }), "rank 2 gpu '7'");
  t.is(rankOf({ WORLD_SIZE: '3', RANK: '2', CUDA_VISIBLE_DEVICES: '' }), "rank 2 gpu ''");
  // No list: the GPUs are counted by a child process (this machine's count, as the addon gives it).
  const count = info().cuda.devices.length;
  t.is(rankOf({ WORLD_SIZE: '3', RANK: '2' }), count > 1 ? `rank 2 gpu '${2 % count}'` : 'rank 2 gpu -unset-');
  // launch()'s own ranks were placed by the launcher.
  t.is(rankOf({ WORLD_SIZE: '3', RANK: '2', CUDA_VISIBLE_DEVICES: '3,5,7', MOONTRAIN_LAUNCHER_PID: '1' }), "rank 2 gpu '3,5,7'");
});

test('a write to process.env before the first call reaches the addon (as CUDA_VISIBLE_DEVICES reaches the CUDA driver); one after it does not', (t) => {
  const show = (before: boolean) => {
    const set = "process.env.MOONTRAIN_MPI_LIB = '/nonexistent/libmpi-probe.so';";
    const script = `const { info } = require('./lib'); ${before ? set : ''} const r = info().mpi.reason; ${before ? '' : `${set} info().mpi.reason;`} console.log(r)`;
    const env = { ...process.env };
    delete env.MOONTRAIN_MPI_LIB;
    return spawnSync(process.execPath, ['--import=tsx', '-e', script], { cwd: root, env, encoding: 'utf8' }).stdout;
  };
  t.regex(show(true), /MOONTRAIN_MPI_LIB: \/nonexistent\/libmpi-probe\.so/);
  t.notRegex(show(false), /libmpi-probe/);
});

const INIT = `const c = require(${JSON.stringify(COMM)}).init(); ${SHOW}; c.close()`;

test('torchrun-style ranks (WORLD_SIZE, RANK, LOCAL_RANK, no launch()): init() gives each its own entry', async (t) => {
  const job = `gpu-${process.pid}-${Date.now()}`;
  const ranks = await Promise.all([0, 1].map((r) =>
    run(process.execPath, ['--import=tsx', '-e', INIT], { ...process.env, WORLD_SIZE: '2', RANK: String(r), LOCAL_RANK: String(r), MOONTRAIN_JOB: job, CUDA_VISIBLE_DEVICES: '4,6' })));
  t.deepEqual(ranks.map((r) => r.code), [0, 0], ranks.map((r) => r.stderr).join(''));
  t.deepEqual(ranks.map((r, i) => r.gpus[i]), ['4', '6']);
});

(hasOpenMpi ? test : test.skip)('mpirun -n 4: init() gives each rank entry (local rank mod n) of CUDA_VISIBLE_DEVICES, with one notice', async (t) => {
  const env = { ...process.env, ...rootEnv, CUDA_VISIBLE_DEVICES: '3,5,7' };
  const r = await run('mpirun', ['--oversubscribe', '-n', '4', '-x', 'CUDA_VISIBLE_DEVICES', process.execPath, '--import=tsx', '-e', INIT], env);
  t.is(r.code, 0, r.stderr);
  t.deepEqual(r.gpus, ['3', '5', '7', '3']);
  t.is(notices(r.stderr).length, 1, r.stderr);
});

(hasMpich ? test : test.skip)("MPICH's mpiexec -n 3: init() gives each rank entry (MPI_LOCALRANKID mod n) of CUDA_VISIBLE_DEVICES, with one notice", async (t) => {
  const r = await run('mpiexec.mpich', ['-n', '3', '-genv', 'CUDA_VISIBLE_DEVICES', '4,6', process.execPath, '--import=tsx', '-e', INIT], process.env);
  t.is(r.code, 0, r.stderr);
  t.deepEqual(r.gpus, ['4', '6', '4']);
  t.is(notices(r.stderr).length, 1, r.stderr);
});
