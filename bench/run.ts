// Entry for `moontrain bench` / `npm run bench -- <kind>`.
import { benchGemm } from './gemm';
import { benchGrouped } from './grouped';
import { CaseResult, machine, writeResults } from './harness';
import { benchNewtonSchulz } from './newton-schulz';

export type BenchKind = 'gemm' | 'grouped' | 'ns' | 'all';

export function runBench(kind: BenchKind, repeats: number, quick: boolean, json?: string): void {
  console.log(JSON.stringify(machine()));
  const cases: CaseResult[] = [];
  if (kind === 'gemm' || kind === 'all')
    cases.push(...benchGemm(repeats, quick ? [[256, 256, 256], [512, 512, 512]] : undefined));
  if (kind === 'ns' || kind === 'all') cases.push(...benchNewtonSchulz(repeats, quick ? [[1, 256, 704]] : undefined));
  if (kind === 'grouped' || kind === 'all') cases.push(...(quick ? benchGrouped(repeats, 8, 2048, 128, 256) : benchGrouped(repeats)));
  console.log(`results: ${writeResults(kind, cases, json)}`);
}
