// Entry for `moontrain bench` / `npm run bench -- <kind>`.
import { benchGemm } from './gemm';
import { benchGrouped } from './grouped';
import { CaseResult, machine, writeResults } from './harness';
import { benchNewtonSchulz } from './newton-schulz';
import { benchStep } from './step';

import { UsageError } from '../lib/cli/args';

export type BenchKind = 'gemm' | 'grouped' | 'ns' | 'step' | 'all';

export function runBench(kind: BenchKind, repeats: number, quick: boolean, json?: string): void {
  console.log(JSON.stringify(machine()));
  const cases: CaseResult[] = [];
  if (kind === 'gemm' || kind === 'all')
    cases.push(...benchGemm(repeats, quick ? [[256, 256, 256], [512, 512, 512]] : undefined));
  if (kind === 'ns' || kind === 'all') cases.push(...benchNewtonSchulz(repeats, quick ? [[1, 256, 704]] : undefined));
  if (kind === 'grouped' || kind === 'all') cases.push(...(quick ? benchGrouped(repeats, 8, 2048, 128, 256) : benchGrouped(repeats)));
  const steps = kind === 'step' || kind === 'all'
    ? (['tiny', 'small'] as const).map((c) => benchStep(c, 'bf16', quick ? 4 : 16, 128, quick ? 2 : 5))
    : [];
  console.log(`results: ${writeResults(kind, cases, json, steps.length ? { steps } : undefined)}`);
}

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

export function benchCommand(args: string[]): number {
  const kind = args[0];
  const quick = args.includes('--quick');
  const repeats = Number(flag(args, '--repeats') ?? (quick ? 3 : 9));
  if (!['gemm', 'grouped', 'ns', 'step', 'all'].includes(kind)) throw new UsageError(`moontrain bench: expected gemm, grouped, ns, step or all, got '${kind ?? ''}'`);
  if (!(Number.isInteger(repeats) && repeats >= 1)) throw new UsageError(`moontrain bench: --repeats: expected an integer >= 1, got '${flag(args, '--repeats')}'`);
  runBench(kind as BenchKind, repeats, quick, flag(args, '--json'));
  return 0;
}
