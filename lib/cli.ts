#!/usr/bin/env node
// moontrain's command line.
import { HelpRequested, UsageError, flagHelp } from './cli/args';
import { evalCommand, evalFlags } from './cli/eval';
import { infoCommand, infoFlags } from './cli/info';
import { sampleCommand, sampleFlags } from './cli/sample';
import { tokenizeCommand, tokenizeFlags } from './cli/tokenize';
import { sweepCommand, sweepFlags } from './cli/sweep';
import { trainCommand, trainFlags } from './cli/train';
import { checkEnvironment } from './cli/environment';

const usage = `usage: moontrain <command> [options]     (moontrain <command> --help: that command's options)

  train     train a Moonlight-style MoE (default: tiny on the Brown corpus, Muon)
${flagHelp(trainFlags)}

  eval      loss and perplexity of a checkpoint
${flagHelp(evalFlags)}

  sample    generate text from a checkpoint
${flagHelp(sampleFlags)}

  tokenize  INPUT... --out DIR: text or .jsonl files into llm.c token shards (streamed)
${flagHelp(tokenizeFlags)}
  sweep SPEC.json | --report DIR
            a grid of training runs, one at a time, resumable; the report: fits, speedups, plots
${flagHelp(sweepFlags)}

  info      CPU paths, threads, CUDA; parameters and FLOPs of a config; a run's settings and status (--run DIR)
${flagHelp(infoFlags)}

  bench gemm|grouped|ns|step|all [--repeats N] [--json FILE] [--quick]
            microbenchmarks side by side with OpenBLAS / PyTorch (step: the training step and MFU)
  bench step [--config X] [--precision bf16|f32] [--batch-size B] [--seq-len L]
            one config (default: tiny and small, bf16, 16 x 128 tokens)
  bench step --nproc N          ZeRO-1 bytes per step, optimizer share and memory, Muon vs AdamW
  bench allgather|reducescatter --nproc N [--json FILE]   (--backend shm, the default)
            ring collectives between processes next to a memcpy by as many processes
  bench allgather|reducescatter --backend hier|mpi [--min-mib 16] [--max-mib 256]
            as the ranks of mpirun/srun: beside MPI_Allgather / MPI_Reduce_scatter_block`;

// The benchmarks live in the repository's bench/, which the npm package does not ship.
function loadBench(): typeof import('../bench/run') {
  let file: string;
  try {
    file = require.resolve('../bench/run');
  } catch {
    throw Object.assign(new Error('moontrain bench: the benchmarks are not in the npm package; run them from a clone of the repository (npm ci, then npx moontrain bench …)'), { code: 'ERR_MOONTRAIN_NO_BENCH' });
  }
  return require(file) as typeof import('../bench/run');
}

// Progress goes to stderr: a closed pipe (`| head`, a killed tee, a dropped ssh) must not stop a run.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE' && e.code !== 'ERR_STREAM_DESTROYED') throw e;
  });
}

async function main(argv: string[]): Promise<number> {
  checkEnvironment();
  const [command, ...rest] = argv;
  switch (command) {
    case 'train': return trainCommand(rest);
    case 'eval': return evalCommand(rest);
    case 'sample': return sampleCommand(rest);
    case 'info': return infoCommand(rest);
    case 'tokenize': return tokenizeCommand(rest);
    case 'sweep': return sweepCommand(rest);
    case 'bench': return loadBench().benchCommand(rest);
    case 'bench-rank': {
      // internal: launch N ranks of a bench worker script (used by bench step --nproc)
      const [n, script, ...args] = rest;
      const { launch } = require('./parallel/launch') as typeof import('./parallel/launch');
      return launch({ nproc: Number(n), argv: [...process.execArgv, script, ...args] });
    }
    case 'version': case '--version': case '-v':
      console.log((require('./runtime') as typeof import('./runtime')).info().version);
      return 0;
    case undefined: case 'help': case '--help': case '-h':
      console.log(usage);
      return 0;
    default:
      throw new UsageError(`moontrain: unknown command '${command}'\n\n${usage}`);
  }
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (e: Error & { code?: string }) => {
    if (e instanceof HelpRequested) {
      console.log(e.message);
      return;
    }
    // Expected failures get one clear line; a stack only for bugs (or MOONTRAIN_DEBUG=1).
    const expected = e instanceof UsageError || (typeof e.code === 'string' && e.code.startsWith('ERR_')) || e.code === 'ENOENT' || e.code === 'ENOSPC' || e.code === 'EACCES';
    console.error(expected && !process.env.MOONTRAIN_DEBUG ? e.message : e.stack ?? String(e));
    process.exitCode = e instanceof UsageError ? 2 : 1;
  },
);
