// Failures: a rank that exits or is SIGKILLed in the middle of a job, abort(), a stopped rank,
// mismatched calls. The survivors must fail with an error naming the rank within 10 s, launch()
// must resolve non-zero, and neither processes nor shared-memory segments may be left.
import test from 'ava';
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { alive, runJob, segmentsOf, waitFor, type JobRun } from '../helpers/parallel-run';

function noLeftovers(t: import('ava').ExecutionContext, run: JobRun): void {
  for (const r of run.results) if (r) t.false(alive(r.pid), `rank ${r.rank} (pid ${r.pid}) is gone`);
  t.deepEqual(segmentsOf(run.job), [], 'no /dev/shm/moontrain-<job> left');
}

function survivorsReport(t: import('ava').ExecutionContext, run: JobRun, victim: number, code: string, message: RegExp): void {
  const victimAt = run.results[victim]?.victimAt;
  t.truthy(victimAt, 'the victim recorded when it failed');
  for (const r of run.results) {
    if (!r || r.rank === victim) continue;
    t.truthy(r.error, `rank ${r.rank} saw an error`);
    if (!r.error) continue;
    t.is(r.error.code, code, `rank ${r.rank}: ${r.error.message}`);
    t.is(r.error.rank, victim, `rank ${r.rank} names rank ${victim}`);
    t.regex(r.error.message, message, `rank ${r.rank}`);
    const ms = (r.detectedAt ?? Infinity) - (victimAt ?? 0);
    t.true(ms < 10000, `rank ${r.rank} detected it after ${ms} ms`);
    t.log(`rank ${r.rank}: "${r.error.message}" after ${ms} ms`);
  }
}

test.serial('a rank that calls process.exit(3) mid-job: peers fail naming it, launch() resolves non-zero', async (t) => {
  const run = await runJob('exit', 3, { graceMs: 15000 });
  t.not(run.code, 0); // 3, or 1 when a survivor's exit is seen first
  survivorsReport(t, run, 1, 'ERR_MOONTRAIN_RANK_FAILED', /rank 1 \(pid \d+\) exited with code 3/);
  noLeftovers(t, run);
});

test.serial('a rank SIGKILLed inside a collective: peers fail naming it, launch() resolves non-zero', async (t) => {
  const run = await runJob('kill', 3, { graceMs: 15000 });
  t.not(run.code, 0); // 137, or 1 when a survivor's exit is seen first
  survivorsReport(t, run, 2, 'ERR_MOONTRAIN_RANK_FAILED', /rank 2 \(pid \d+\) died/);
  noLeftovers(t, run);
});

test.serial('abort(reason) makes every rank fail fast with the reason', async (t) => {
  const run = await runJob('abort', 3, { graceMs: 15000 });
  t.not(run.code, 0);
  survivorsReport(t, run, 0, 'ERR_MOONTRAIN_COMM_ABORTED', /rank 0 aborted the job: loss is NaN/);
  noLeftovers(t, run);
});

test.serial('a stopped rank (no heartbeat) is reported after heartbeatTimeout; launch() kills it', async (t) => {
  const run = await runJob('stop', 2, { graceMs: 3000, killAfterMs: 500 });
  t.not(run.code, 0);
  survivorsReport(t, run, 1, 'ERR_MOONTRAIN_RANK_FAILED', /rank 1 \(pid \d+\) stopped responding \(no heartbeat for \d/);
  noLeftovers(t, run);
});

test.serial('a rank that closes right after a collective does not fail a peer still finishing it', async (t) => {
  const run = await runJob('early-close', 3, { graceMs: 10000 });
  t.is(run.code, 0);
  for (const r of run.results) {
    t.truthy(r, 'every rank wrote its result');
    t.is(r?.error, undefined, `rank ${r?.rank}: ${r?.error?.message}`);
    t.deepEqual(r?.failures, [], `rank ${r?.rank}`);
  }
  // The case is exercised only if rank 1 was done well before rank 2 had even started.
  const [r0, r1] = run.results;
  t.true((r0?.detectedAt ?? 0) - (r1?.detectedAt ?? Infinity) > 100, `rank 1 finished ${(r0?.detectedAt ?? 0) - (r1?.detectedAt ?? 0)} ms before rank 0`);
  noLeftovers(t, run);
});

test.serial('mismatched collectives fail on both ranks', async (t) => {
  const run = await runJob('mismatch', 2, { graceMs: 10000 });
  t.is(run.code, 1);
  t.is(run.results.length, 2);
  for (const r of run.results) {
    t.is(r?.error?.code, 'ERR_MOONTRAIN_COMM_MISMATCH', r?.error?.message);
    t.regex(r?.error?.message ?? '', /collective mismatch/);
  }
  noLeftovers(t, run);
});

test.serial('without a grace period launch() stops the other ranks at once', async (t) => {
  const t0 = Date.now();
  const run = await runJob('exit', 3);
  t.not(run.code, 0);
  t.true(Date.now() - t0 < 15000);
  noLeftovers(t, run);
});

// A launcher process (test/helpers/parallel-launcher.ts) with idle ranks.
async function startLauncher(nproc: number): Promise<{ launcher: ReturnType<typeof spawn>; pids: number[]; job: string; dir: string }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-launcher-'));
  const launcher = spawn(process.execPath, ['--import=tsx', path.join(__dirname, '..', 'helpers', 'parallel-launcher.ts'), String(nproc), dir], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const files = () => fs.readdirSync(dir).filter((f) => /^rank-\d+\.json$/.test(f));
  await waitFor(() => files().length === nproc, 30000);
  const results = files().map((f) => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as { pid: number; job: string });
  return { launcher, pids: results.map((r) => r.pid), job: results[0]?.job ?? '', dir };
}

test.serial('SIGINT to the launcher reaches every rank; nothing is left', async (t) => {
  const { launcher, pids, job, dir } = await startLauncher(3);
  t.is(pids.length, 3);
  const exited = new Promise<number | null>((resolve) => launcher.on('exit', (code) => resolve(code)));
  launcher.kill('SIGINT');
  const code = await exited;
  t.is(code, 130);
  t.true(await waitFor(() => pids.every((p) => !alive(p)), 5000), 'every rank exited');
  t.deepEqual(segmentsOf(job), []);
  fs.rmSync(dir, { recursive: true, force: true });
});

test.serial('ranks die with a SIGKILLed launcher (no orphans)', async (t) => {
  const { launcher, pids, dir } = await startLauncher(2);
  t.is(pids.length, 2);
  launcher.kill('SIGKILL');
  t.true(await waitFor(() => pids.every((p) => !alive(p)), 5000), 'every rank exited');
  fs.rmSync(dir, { recursive: true, force: true });
});
