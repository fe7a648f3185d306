// moontrain info [--config X] [--json]: the machine paths and, with a config, the model's
// parameter and FLOP counts (analytic; nothing is allocated).
import * as fs from 'fs';
import { countParameters, flopsPerToken, parseConfig, presets } from '../nn/config';
import type { MoonlightConfig } from '../nn/config';
import { info } from '../runtime';
import { Flags, UsageError, parseFlags } from './args';
import { printRunStatus, runStatus } from './run-status';

export const infoFlags: Flags = {
  config: { type: 'string', help: 'tiny|small|moonlight-16b-a3b or a config.json path' },
  'seq-len': { type: 'int', min: 1, default: 4096, help: 'sequence length for the attention FLOPs' },
  json: { type: 'bool', help: 'print JSON' },
  devices: { type: 'bool', help: 'list CUDA devices' },
  run: { type: 'string', help: "a run folder: its settings (run.json), last step, checkpoint and validation loss" },
};

export function resolveConfig(name: string): MoonlightConfig {
  if (name in presets) return presets[name as keyof typeof presets];
  if (!fs.existsSync(name))
    throw new UsageError(`moontrain: --config: expected ${Object.keys(presets).join(', ')} or the path of a config.json, got '${name}' (no such preset or file)`);
  try {
    return parseConfig(name);
  } catch (e) {
    throw new UsageError(`moontrain: --config ${name}: ${(e as Error).message}`);
  }
}

export function infoCommand(argv: string[]): number {
  const a = parseFlags(argv, infoFlags, 'info');
  if (a.run !== undefined) {
    const status = runStatus(a.run as string);
    if (a.json) console.log(JSON.stringify(status, null, 2));
    else printRunStatus(status);
    return 0;
  }
  const machine = info();
  if (a.devices) {
    const { available, reason, devices, driverVersion, runtimeVersion } = machine.cuda;
    if (a.json) console.log(JSON.stringify({ available, reason, driverVersion, runtimeVersion, devices }, null, 2));
    else if (!available) console.log(`no usable CUDA device: ${reason}`);
    else devices.forEach((d, i) => console.log(`cuda:${i} ${d.name}, ${(d.memoryBytes / 2 ** 30).toFixed(1)} GiB, compute capability ${d.computeCapability}`));
    return 0;
  }
  const out: Record<string, unknown> = { ...machine };
  if (a.config) {
    const c = resolveConfig(a.config as string);
    const p = countParameters(c);
    Object.assign(out, {
      config: a.config,
      params_total: p.total,
      params_active: p.activated,
      params_embedding: p.embedding,
      params_lm_head: p.lmHead,
      flops_per_token: flopsPerToken(c, a['seq-len'] as number),
      seq_len: a['seq-len'],
    });
  }
  if (a.json) {
    console.log(JSON.stringify(out, null, 2));
    return 0;
  }
  console.log(`moontrain ${machine.version}: CPU path ${machine.isa} (available: ${machine.isaAvailable.join(', ')}), ${machine.threads} threads`);
  console.log(machine.cuda.available
    ? `CUDA: ${machine.cuda.devices.map((d) => `${d.name} (${(d.memoryBytes / 2 ** 30).toFixed(0)} GiB, sm ${d.computeCapability})`).join(', ')}`
    : `CUDA: not available (${machine.cuda.reason})`);
  console.log(machine.mpi.available
    ? `MPI: ${machine.mpi.library} (${machine.mpi.version}) from ${machine.mpi.path}`
    : `MPI: not available (${machine.mpi.reason}); mpirun/srun jobs need it, train --nproc does not`);
  if (a.config) {
    const f = (n: number) => n.toLocaleString('en-US');
    console.log(`model ${a.config}: ${f(out.params_total as number)} parameters without embedding and head, ${f(out.params_active as number)} active per token`);
    console.log(`embedding ${f(out.params_embedding as number)}, LM head ${f(out.params_lm_head as number)}; ${((out.flops_per_token as number) / 1e9).toFixed(3)} GFLOP per token trained at seq ${a['seq-len']}`);
  }
  return 0;
}
