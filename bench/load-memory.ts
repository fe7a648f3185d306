// Peak memory of loading a sharded checkpoint: writes a synthetic Hugging Face-style checkpoint
// (bf16, shards of about 1/8 of the total, per-expert names) of about --gb GiB, then loads it in
// a fresh process with MoonlightModel.load and reports the peak RSS beside the weights' size in
// the model's precision and the largest shard. `npx tsx bench/load-memory.ts [--gb 2] [--json FILE]`.
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { io, nn, tensor } from '../lib';
import type { ParameterSource } from '../lib/nn/init';
import { Parameter } from '../lib/nn/parameter';
import { numel } from '../lib/shape';

/** A config of about `params` parameters: width 1024, routed experts carry the bulk. */
export function configOfSize(params: number): nn.MoonlightConfig {
  const D = 1024, I = 1024, layers = 4;
  const experts = Math.max(4, Math.round((params - 80e6) / ((layers - 1) * 3 * D * I)));
  return {
    ...nn.tiny, hidden_size: D, num_hidden_layers: layers, num_attention_heads: 8, kv_lora_rank: 128, qk_nope_head_dim: 64,
    qk_rope_head_dim: 32, v_head_dim: 64, intermediate_size: 2816, moe_intermediate_size: I, n_routed_experts: experts,
    num_experts_per_tok: 4, n_shared_experts: 1, first_k_dense_replace: 1, vocab_size: 32000, max_position_embeddings: 1024,
  };
}

/** Cheap non-constant weights (a hash of the index, in [-0.05, 0.05)). */
const patterned: ParameterSource = {
  make(name, shape, kind, _fill, dtype, requiresGrad = true) {
    const n = numel(shape);
    const data = new Float32Array(n);
    for (let i = 0; i < n; ++i) data[i] = (((Math.imul(i + name.length, 0x9e3779b1) >>> 8) & 0xffff) / 0x10000 - 0.5) * 0.1;
    return new Parameter(tensor(data, shape, { dtype }), { name, kind, requiresGrad });
  },
};

/** Writes the checkpoint into dir as 8 shards plus model.safetensors.index.json; returns the shard sizes. */
export function writeShardedCheckpoint(dir: string, config: nn.MoonlightConfig): number[] {
  const model = new nn.MoonlightModel(config, { precision: 'bf16' }, patterned);
  model.save(dir);
  model.dispose();
  const single = path.join(dir, 'model.safetensors');
  const entries = io.readSafetensorsHeader(single).entries;
  const total = entries.reduce((a, e) => a + e.offsets[1] - e.offsets[0], 0);
  const shards: string[][] = [[]];
  let bytes = 0;
  for (const e of entries) {
    if (bytes > total / 8 && shards[shards.length - 1]!.length > 0) (shards.push([]), (bytes = 0));
    shards[shards.length - 1]!.push(e.name);
    bytes += e.offsets[1] - e.offsets[0];
  }
  const weightMap: Record<string, string> = {};
  const sizes = shards.map((names, k) => {
    const file = `model-${String(k + 1).padStart(5, '0')}-of-${String(shards.length).padStart(5, '0')}.safetensors`;
    const { tensors } = io.loadSafetensors(single, { names });
    io.saveSafetensors(path.join(dir, file), tensors, { format: 'pt' });
    for (const t of tensors.values()) t.dispose();
    for (const n of names) weightMap[n] = file;
    return fs.statSync(path.join(dir, file)).size;
  });
  fs.writeFileSync(path.join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: { total_size: total }, weight_map: weightMap }));
  fs.rmSync(single);
  return sizes;
}

export interface LoadMemory {
  parameters: number;
  checkpointBytes: number;
  largestShardBytes: number;
  /** The weights in the model's precision (bf16). */
  weightBytes: number;
  /** RSS of a process that has loaded moontrain and made a tiny model, before loading. */
  baselineRss: number;
  peakRss: number;
}

export function measureLoad(dir: string): { baselineRss: number; peakRss: number; parameters: number; parameterTensors: number; newTensors: number; newBytes: number; parameterBytes: number } {
  // VmHWM, not getrusage's maxrss: Linux keeps maxrss across exec, so a child would report the
  // peak of the process that spawned it.
  const script = `const { nn } = require(${JSON.stringify(path.join(__dirname, '..', 'lib'))});
    const hwm = () => 1024 * Number(/VmHWM:\\s*(\\d+)/.exec(require('fs').readFileSync('/proc/self/status', 'utf8'))[1]);
    const warm = nn.MoonlightModel.fromPreset('tiny'); warm.dispose();
    const baselineRss = hwm();
    const { native } = require(${JSON.stringify(path.join(__dirname, '..', 'lib', 'native'))});
    const before = native.liveTensors();
    const m = nn.MoonlightModel.load(${JSON.stringify(dir)}, { precision: 'bf16' });
    const { numel } = require(${JSON.stringify(path.join(__dirname, '..', 'lib', 'shape'))});
    const parameters = m.parameters().reduce((a, p) => a + numel(p.value.shape), 0);
    const after = native.liveTensors();
    const parameterBytes = m.parameters().reduce((a, p) => a + numel(p.value.shape) * (p.value.dtype === 'bf16' ? 2 : 4), 0);
    console.log(JSON.stringify({ baselineRss, peakRss: hwm(), parameters, parameterTensors: m.parameters().length,
      newTensors: after.count - before.count, newBytes: after.bytes - before.bytes, parameterBytes }));`;
  const out = execFileSync(process.execPath, ['--import', 'tsx', '-e', script], { encoding: 'utf8', maxBuffer: 1 << 20 });
  return JSON.parse(out.trim().split('\n').pop()!);
}

export function loadMemory(gib: number): LoadMemory {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'moontrain-load-'));
  try {
    const config = configOfSize((gib * 2 ** 30) / 2);
    const sizes = writeShardedCheckpoint(dir, config);
    const m = measureLoad(dir);
    return {
      parameters: m.parameters, checkpointBytes: sizes.reduce((a, b) => a + b, 0), largestShardBytes: Math.max(...sizes),
      weightBytes: m.parameters * 2, baselineRss: m.baselineRss, peakRss: m.peakRss,
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  const gb = process.argv.indexOf('--gb') > 0 ? Number(process.argv[process.argv.indexOf('--gb') + 1]) : 2;
  const r = loadMemory(gb);
  const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;
  console.log(`checkpoint ${mib(r.checkpointBytes)} in shards of at most ${mib(r.largestShardBytes)}; weights in bf16 ${mib(r.weightBytes)}`);
  console.log(`RSS before loading ${mib(r.baselineRss)}, peak ${mib(r.peakRss)}: ` +
    `${mib(r.peakRss - r.baselineRss)} above baseline = ${((r.peakRss - r.baselineRss) / r.weightBytes).toFixed(2)} x the weights`);
  const json = process.argv.indexOf('--json');
  if (json > 0) fs.writeFileSync(process.argv[json + 1]!, `${JSON.stringify({ date: new Date().toISOString().slice(0, 10), host: os.cpus()[0]?.model, ...r }, null, 2)}\n`);
}
