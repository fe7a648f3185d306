// Runs a test job: launch() of test/helpers/parallel-worker.ts with a scenario, then reads what each
// rank wrote. Also: is a process alive, and which shared-memory segments a job left behind.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { launch, newJobName } from '../../lib/parallel/launch';

export const WORKER = path.join(__dirname, 'parallel-worker.ts');

export interface RankResult {
  rank: number;
  pid: number;
  job: string;
  failures: string[];
  checks: number;
  direct?: boolean;
  hashes?: Record<string, string>;
  error?: { message: string; code?: string; rank?: number; op?: string };
  startedAt?: number;
  detectedAt?: number;
  victimAt?: number;
}

export interface JobRun {
  code: number;
  job: string;
  /** results[r]: what rank r wrote, or undefined when it wrote nothing. */
  results: (RankResult | undefined)[];
  ms: number;
}

export async function runJob(
  scenario: string,
  nproc: number,
  options: { graceMs?: number; killAfterMs?: number; env?: Record<string, string> } = {},
): Promise<JobRun> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-dist-'));
  const job = newJobName();
  const t0 = Date.now();
  try {
    const code = await launch({
      nproc,
      argv: ['--import=tsx', WORKER],
      env: { DIST_SCENARIO: scenario, DIST_OUT: dir, ...options.env },
      jobName: job,
      graceMs: options.graceMs,
      killAfterMs: options.killAfterMs,
    });
    const results = Array.from({ length: nproc }, (_, r) => {
      const f = path.join(dir, `rank-${r}.json`);
      return fs.existsSync(f) ? (JSON.parse(fs.readFileSync(f, 'utf8')) as RankResult) : undefined;
    });
    return { code, job, results, ms: Date.now() - t0 };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    // A zombie counts as gone.
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) [ZX]/.test(stat);
  } catch {
    return false;
  }
}

/** /dev/shm entries of this job (its own and any sub-communicator's, `<job>-*`). */
export function segmentsOf(job: string): string[] {
  return fs.readdirSync('/dev/shm').filter((f) => f === `moontrain-${job}` || f.startsWith(`moontrain-${job}-`));
}

export async function waitFor(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return cond();
}
