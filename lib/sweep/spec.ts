// A sweep spec (JSON): the flags every run shares and a list of grids whose values are crossed.
//
//   { "base": { "config": "tiny", "batch-size": 16, "seq-len": 128, "schedule": "wsd", ... },
//     "grid": [ { "label": "main", "optimizer": ["adamw", "muon"], "lr": [0.002, 0.004],
//                 "tokens": [655360], "seed": [1, 2] }, ... ] }
//
// Every key but "label" is a `moontrain train` flag (without --); a value may be a list (crossed)
// or one value. "tokens" is the budget: --steps = tokens / (batch-size x grad-accum x seq-len), which must be
// whole. A run's id names its varying settings and ends with a hash of all its flags, so a changed
// base makes new runs instead of reusing old ones; a run listed twice runs once.
import { createHash } from 'crypto';
import * as fs from 'fs';
import { trainFlags } from '../cli/train';

export type FlagValue = string | number | boolean;

export interface SweepRun {
  id: string;
  label: string;
  /** `moontrain train` flags (without --), --steps included. */
  flags: Record<string, FlagValue>;
  tokens: number;
}

export interface SweepSpec {
  base: Record<string, FlagValue>;
  grid: Record<string, FlagValue | FlagValue[]>[];
}

/** Flags the sweep sets itself. */
const reserved = ['out', 'resume', 'stop-after', 'steps', 'nproc'];

function specError(file: string, what: string): Error {
  return Object.assign(new Error(`moontrain sweep: ${file}: ${what}`), { code: 'ERR_MOONTRAIN_BAD_SPEC' });
}

function checkFlags(file: string, where: string, o: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(o)) {
    if (k === 'label' || k === 'tokens') continue;
    if (reserved.includes(k)) throw specError(file, `${where}: '${k}' is set by the sweep (use "tokens" for the budget)`);
    if (!(k in trainFlags)) throw specError(file, `${where}: '${k}' is not a moontrain train flag (expected one of ${Object.keys(trainFlags).filter((f) => !reserved.includes(f)).join(', ')})`);
    const values = Array.isArray(v) ? v : [v];
    if (values.length === 0 || values.some((x) => !['string', 'number', 'boolean'].includes(typeof x)))
      throw specError(file, `${where}: '${k}': expected a string, number or boolean, or a non-empty list of them, got ${JSON.stringify(v)}`);
  }
}

export function readSpec(file: string): SweepSpec {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw e;
    throw specError(file, `not valid JSON (${(e as Error).message})`);
  }
  const s = raw as Partial<SweepSpec>;
  if (typeof s !== 'object' || s === null || typeof s.base !== 'object' || s.base === null || !Array.isArray(s.grid) || s.grid.length === 0)
    throw specError(file, 'expected { "base": { flags }, "grid": [ { flag: [values] }, ... ] } with at least one grid');
  checkFlags(file, 'base', s.base);
  s.grid.forEach((g, i) => {
    if (typeof g !== 'object' || g === null || Array.isArray(g)) throw specError(file, `grid[${i}]: expected an object, got ${JSON.stringify(g)}`);
    if (!('tokens' in g) && !('tokens' in s.base!)) throw specError(file, `grid[${i}]: no "tokens" (the budget), here or in base`);
    checkFlags(file, `grid[${i}]`, g);
  });
  return s as SweepSpec;
}

function cross(grid: Record<string, FlagValue | FlagValue[]>): Record<string, FlagValue>[] {
  let out: Record<string, FlagValue>[] = [{}];
  for (const [k, v] of Object.entries(grid)) {
    const values = Array.isArray(v) ? v : [v];
    out = out.flatMap((o) => values.map((x) => ({ ...o, [k]: x })));
  }
  return out;
}

/** The runs of a spec, in order, each once. */
export function expandSpec(spec: SweepSpec, file = 'spec'): SweepRun[] {
  const runs = new Map<string, SweepRun>();
  for (const grid of spec.grid) {
    for (const point of cross(grid)) {
      const { label = 'main', tokens: t, ...own } = { ...point } as Record<string, FlagValue>;
      const flags: Record<string, FlagValue> = { ...spec.base, ...own };
      const tokens = Number(t ?? flags.tokens);
      delete flags.tokens;
      const B = Number(flags['batch-size'] ?? trainFlags['batch-size'].default), S = Number(flags['seq-len'] ?? trainFlags['seq-len'].default);
      const N = Number(flags['grad-accum'] ?? 1);
      const steps = tokens / (B * N * S);
      if (!Number.isInteger(steps) || steps < 1) throw specError(file, `tokens ${t}: expected a positive multiple of batch-size x ${N > 1 ? 'grad-accum x ' : ''}seq-len = ${B * N * S}`);
      flags.steps = steps;
      const sorted = Object.fromEntries(Object.entries(flags).sort(([a], [b]) => (a < b ? -1 : 1)));
      const hash = createHash('sha256').update(JSON.stringify(sorted)).digest('hex').slice(0, 8);
      const name = Object.entries(own).map(([k, v]) => (k === 'optimizer' ? String(v) : `${k}${v}`)).join('-').replace(/[^A-Za-z0-9.,-]+/g, '_');
      const id = `${label}-${name ? name + '-' : ''}t${tokens}-${hash}`;
      if (!runs.has(id)) runs.set(id, { id, label: String(label), flags: sorted, tokens });
    }
  }
  return [...runs.values()];
}
