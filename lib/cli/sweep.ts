// moontrain sweep SPEC.json [--out DIR]: a grid of training runs, one at a time, resumable;
// moontrain sweep --report DIR: fits, speedups, tables and plots from DIR/results.jsonl.
import * as path from 'path';
import { expandSpec, readSpec } from '../sweep/spec';
import { runSweep } from '../sweep/runner';
import { Flags, UsageError, parseFlags } from './args';

export const sweepFlags: Flags = {
  out: { type: 'string', help: 'sweep directory (default runs/sweep-<spec name>)' },
  report: { type: 'string', help: 'write the report of this sweep directory (no training)' },
  list: { type: 'bool', help: 'print the runs of the spec and exit' },
};

export async function sweepCommand(argv: string[]): Promise<number> {
  const positional = argv.filter((x, i) => !x.startsWith('--') && !(i > 0 && ['--out', '--report'].includes(argv[i - 1])));
  const a = parseFlags(argv.filter((x) => !positional.includes(x)), sweepFlags, 'sweep');
  if (a.report) {
    if (positional.length) throw new UsageError('moontrain sweep: --report DIR takes no spec');
    const { writeReport } = require('../sweep/report') as typeof import('../sweep/report');
    const files = writeReport(a.report as string);
    console.log(`moontrain sweep: report in ${files.join(', ')}`);
    return 0;
  }
  if (positional.length !== 1) throw new UsageError(`moontrain sweep: expected one SPEC.json (or --report DIR), got ${positional.length ? positional.join(' ') : 'none'}`);
  const file = positional[0];
  const runs = expandSpec(readSpec(file), file);
  if (a.list) {
    for (const r of runs) console.log(`${r.id}\t${r.tokens}\t${Object.entries(r.flags).map(([k, v]) => `--${k} ${v}`).join(' ')}`);
    return 0;
  }
  const out = (a.out as string | undefined) ?? path.join('runs', `sweep-${path.basename(file, '.json')}`);
  const status = await runSweep(runs, { out });
  console.log(status === 'done' ? `moontrain sweep: all ${runs.length} runs done; results in ${out}/results.jsonl; report: moontrain sweep --report ${out}` : `moontrain sweep: stopped; run the same command again to continue`);
  return 0;
}
