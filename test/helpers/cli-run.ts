// Running the command line as a user does, for the CLI tests: synchronously (cli) or as a child
// to signal (spawnCli), on a micro config and token file in a fresh temporary folder.
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { writeMicroRun } from './micro-run';

export const root = path.join(__dirname, '..', '..');
const entry = ['--import', require.resolve('tsx'), path.join(root, 'lib', 'cli.ts')];

export const cli = (args: string[], env: Record<string, string | undefined> = {}, cwd = root) =>
  spawnSync(process.execPath, [...entry, ...args], { cwd, encoding: 'utf8', env: { ...process.env, ...env } });

export const spawnCli = (args: string[], env: Record<string, string | undefined> = {}): ChildProcessWithoutNullStreams =>
  spawn(process.execPath, [...entry, ...args], { cwd: root, env: { ...process.env, ...env } });

/** Resolves with the exit code (128 + n for a signal n) and everything written to stderr. */
export function exited(child: ChildProcessWithoutNullStreams): Promise<{ code: number; stderr: string }> {
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code: code ?? 128 + (os.constants.signals[signal!] ?? 0), stderr })));
}

/** Calls `then` once stderr has matched `re`. */
export function whenStderr(child: ChildProcessWithoutNullStreams, re: RegExp, then: () => void): void {
  let seen = '', done = false;
  child.stderr.on('data', (d) => {
    seen += d;
    if (!done && re.test(seen)) {
      done = true;
      then();
    }
  });
}

export function microSetup(prefix: string) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const { config, data } = writeMicroRun(tmp);
  const common = ['--config', config, '--data', data, '--batch-size', '4', '--seq-len', '16', '--eval-every', '4', '--eval-batches', '2', '--warmup', '2', '--lr', '0.01'];
  return { tmp, config, data, common };
}

export const metricRows = (dir: string) => fs.readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number>);
/** Metric rows without the wall-clock and memory fields, for bit-identical comparisons. */
export const stableRows = (dir: string) => metricRows(dir).map(({ tokens_per_s: _, step_time_s: _t, mfu: _m, peak_rss_mib: _r, ...r }) => r);
