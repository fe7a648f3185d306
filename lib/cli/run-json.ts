// run.json: a training run's resolved settings (every train flag's value, data and config paths
// made absolute), written into its folder when it starts or resumes. It is a --config-file
// (`moontrain train --config-file runs/a/run.json --out runs/b` repeats the run), --resume reads it,
// and `moontrain info --run DIR` shows it.
import * as fs from 'fs';
import * as path from 'path';
import { resolveDataPath } from '../data/fingerprint';
import { presets } from '../nn/config';
import { writeFileAtomic } from '../io/atomic';
import type { Parsed } from './args';

export const RUN_JSON = 'run.json';

/** Given for one invocation only: not part of a run's settings. */
const PER_INVOCATION = ['resume', 'stop-after', 'overwrite', 'config-file'];

/** The settings a run records (in run.json and its checkpoints' trainer.json). */
export function runSettings(a: Parsed): Parsed {
  const out: Parsed = {};
  for (const [k, v] of Object.entries(a)) if (v !== undefined && !PER_INVOCATION.includes(k)) out[k] = v;
  out.data = resolveDataPath(a.data as string);
  if (a['val-data'] !== undefined) out['val-data'] = resolveDataPath(a['val-data'] as string);
  const config = a.config as string;
  if (!(config in presets)) out.config = path.resolve(config);
  if (a.out !== undefined) out.out = path.resolve(a.out as string);
  return out;
}

export function writeRunJson(runDir: string, settings: Parsed): void {
  writeFileAtomic(path.join(runDir, RUN_JSON), JSON.stringify(settings, null, 2) + '\n');
}

/** A run folder's run.json, or undefined when it has none (runs from before it existed). */
export function readRunJson(runDir: string): Parsed | undefined {
  const file = path.join(runDir, RUN_JSON);
  if (!fs.existsSync(file)) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw Object.assign(new Error(`moontrain: ${file}: not valid JSON (${(e as Error).message}); fix it or remove it`), { code: 'ERR_MOONTRAIN_BAD_RUN_JSON' });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw Object.assign(new Error(`moontrain: ${file}: expected an object of settings, got ${Array.isArray(value) ? 'an array' : typeof value}`), { code: 'ERR_MOONTRAIN_BAD_RUN_JSON' });
  return value as Parsed;
}
