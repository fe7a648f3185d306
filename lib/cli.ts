#!/usr/bin/env node
// moontrain's command line: info, bench.
import { info } from './runtime';

const usage = `usage: moontrain <command> [options]

commands:
  info                         what moontrain runs on (ISA path, threads, CUDA)
  bench gemm|grouped|ns|all    microbenchmarks side by side with OpenBLAS
      --repeats N              interleaved repeats per case (default 9)
      --json FILE              where to write the results (default bench/results/<date>-cpu-<kind>.json)
      --quick                  smaller shapes, fewer repeats`;

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

function main(argv: string[]): number {
  const [command, ...args] = argv;
  if (command === 'info') {
    console.log(JSON.stringify(info(), null, 2));
    return 0;
  }
  if (command === 'bench') return bench(args);
  console.error(command && command !== '--help' && command !== 'help' ? `moontrain: unknown command '${command}'\n\n${usage}` : usage);
  return command && command !== '--help' && command !== 'help' ? 2 : 0;
}

function bench(args: string[]): number {
  // Loaded lazily so `moontrain info` works even where bench files are left out.
  const { runBench } = require('../bench/run') as typeof import('../bench/run');
  const kind = args[0];
  const quick = args.includes('--quick');
  const repeats = Number(flag(args, '--repeats') ?? (quick ? 3 : 9));
  if (!['gemm', 'grouped', 'ns', 'all'].includes(kind) || !(repeats >= 1)) {
    console.error(usage);
    return 2;
  }
  runBench(kind as 'gemm', repeats, quick, flag(args, '--json'));
  return 0;
}

process.exitCode = main(process.argv.slice(2));
