// The training step: tokens/s and MFU (FLOPs per token from the model's config over the bf16
// GEMM rate measured in the same run), side by side with the PyTorch twin (bf16 autocast, same
// batch, same threads); with nproc > 1, ZeRO-1 ranks: communication bytes per step for Muon and
// AdamW, the optimizer's share of the step and the optimizer memory per rank.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { nn, optim } from '../lib';
import type { Device } from '../types/core';
import { synchronize } from '../lib/tensor';
import { flopsPerToken, type MoonlightConfig } from '../lib/nn/config';
import { gemmFlopsPerSecond } from '../lib/sweep/flops';
import { info } from '../lib/runtime';
import { packageRoot } from '../lib/native';
import { PYTHON, torchAvailable } from './anchors/torch-twin-check';
import { median } from './harness';

export interface StepResult {
  config: string;
  precision: string;
  device: Device;
  batch: number;
  seq: number;
  threads: number;
  forwardBackwardMs: number;
  optimizerMs: number;
  stepMs: number;
  tokensPerS: number;
  forwardBackwardTokensPerS: number;
  flopsPerToken: number;
  bf16GemmGflops: number;
  mfu: number;
  /**
   * The twin: fwd+bwd on its initial weights (tokensPerS, medianMs: the headline ratio), and a
   * whole training step, fwd+bwd then a Muon step as ours (same lr, batch and initial weights),
   * timed apart (stepTokensPerS, stepMs, optimizerMs).
   */
  torch?: {
    tokensPerS: number; medianMs: number; stepTokensPerS: number; stepMs: number; optimizerMs: number; autocast: boolean; version: string;
  } | { skipped: string };
}

/** A deterministic batch of `n` token ids and targets. */
export function syntheticBatch(vocab: number, n: number, salt = 0): { ids: Int32Array; targets: Int32Array } {
  const ids = Int32Array.from({ length: n }, (_, i) => (i * 7919 + salt) % vocab);
  return { ids, targets: Int32Array.from(ids, (x, i) => (x + i) % vocab) };
}

/** Times `steps` training steps after one warm-up: forward+backward and optimizer, in ms. */
export function timeSteps(
  model: nn.MoonlightModel, opt: { step(): void; zeroGrad(): void }, ids: Int32Array, targets: Int32Array,
  batch: number, seq: number, steps: number, afterWarmup?: () => void,
): { forwardBackward: number[]; optimizer: number[] } {
  const forwardBackward: number[] = [], optimizer: number[] = [];
  const wait = () => synchronize(model.norm.value);
  for (let s = 0; s < steps + 1; ++s) {
    if (s === 1) afterWarmup?.();
    const t0 = process.hrtime.bigint();
    model.loss(ids, targets, [batch, seq]);
    model.backward();
    wait();
    const t1 = process.hrtime.bigint();
    opt.step();
    opt.zeroGrad();
    wait();
    const t2 = process.hrtime.bigint();
    if (s > 0) {
      forwardBackward.push(Number(t1 - t0) / 1e6);
      optimizer.push(Number(t2 - t1) / 1e6);
    }
  }
  return { forwardBackward, optimizer };
}

type TwinTimes = { times: number[]; optimizerTimes: number[]; version: string; autocast: boolean } | { error: string };
type Twin = { skipped: string } | { run(steps: number, optimizer: boolean): TwinTimes; close(): void };

/**
 * The PyTorch twin of a model: one process per run, `--bench k` timing k fwd+bwd passes (with
 * `--optimizer`, each followed by a Muon step, timed apart).
 */
function twinRunner(config: MoonlightConfig, precision: 'bf16' | 'f32', ids: Int32Array, targets: Int32Array, batch: number, seq: number, device: Device): Twin {
  const missing = torchAvailable();
  if (missing) return { skipped: missing };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'moontrain-step-'));
  const f32 = new nn.MoonlightModel(config, { precision: 'f32' });
  f32.save(dir);
  f32.dispose();
  fs.writeFileSync(path.join(dir, 'batch.json'), JSON.stringify({ ids: [...ids], targets: [...targets], shape: [batch, seq] }));
  const twin = path.join(packageRoot, 'bench', 'anchors', 'torch_twin.py');
  const base = [twin, '--model', dir, '--batch', path.join(dir, 'batch.json'), '--out', path.join(dir, 'x'), '--threads', String(info().threads)];
  if (precision === 'bf16') base.push('--autocast');
  if (device === 'cuda') base.push('--device', 'cuda');
  return {
    run(steps: number, optimizer: boolean): TwinTimes {
      const p = spawnSync(PYTHON, [...base, '--bench', String(steps), ...(optimizer ? ['--optimizer'] : [])], { encoding: 'utf8' });
      if (p.status !== 0) return { error: `the twin failed: ${p.stderr.trim().split('\n').pop()}` };
      const j = JSON.parse(p.stdout.trim().split('\n').pop()!);
      const ms = (s: number[]) => s.map((x) => x * 1000);
      return { times: ms(j.times_s), optimizerTimes: ms(j.optimizer_times_s), version: j.torch, autocast: j.autocast };
    },
    close: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * moontrain and the PyTorch twin on the same batch and threads, interleaved: `rounds` rounds of
 * `steps` timed steps each side (after one warm-up step per round), medians over all of them.
 */
/** `name` labels the run (a preset's name or a config file's path). */
export function benchStep(name: string, config: MoonlightConfig, precision: 'bf16' | 'f32', batch: number, seq: number, steps: number, rounds = 3, device: Device = 'cpu'): StepResult {
  const model = new nn.MoonlightModel(config, { precision, device });
  const opt = new optim.Muon(model.parameters(), { lr: 1e-3 });
  const { ids, targets } = syntheticBatch(model.config.vocab_size, batch * seq);
  const twin = twinRunner(config, precision, ids, targets, batch, seq, device);
  const fb: number[] = [], op: number[] = [], torchMs: number[] = [], torchStepFb: number[] = [], torchStepOpt: number[] = [];
  let torch: StepResult['torch'] = 'skipped' in twin ? { skipped: twin.skipped } : undefined;
  let torchInfo = { version: '', autocast: false };
  for (let round = 0; round < rounds; ++round) {
    const ours = timeSteps(model, opt, ids, targets, batch, seq, steps);
    fb.push(...ours.forwardBackward);
    op.push(...ours.optimizer);
    if (!('run' in twin) || torch) continue;
    const theirs = twin.run(steps, false);
    const training = 'error' in theirs ? theirs : twin.run(steps, true);
    if ('error' in theirs) torch = { skipped: theirs.error };
    else if ('error' in training) torch = { skipped: training.error };
    else {
      torchMs.push(...theirs.times);
      torchStepFb.push(...training.times);
      torchStepOpt.push(...training.optimizerTimes);
      torchInfo = { version: theirs.version, autocast: theirs.autocast };
    }
  }
  if ('close' in twin) twin.close();
  const fbMs = median(fb), opMs = median(op);
  const flops = flopsPerToken(model.config, seq);
  const rate = gemmFlopsPerSecond('bf16', device === 'cuda' ? 8192 : 1024, device) / 1e9;
  const tokens = batch * seq;
  const r: StepResult = {
    config: name, precision, device, batch, seq, threads: info().threads,
    forwardBackwardMs: fbMs, optimizerMs: opMs, stepMs: fbMs + opMs,
    tokensPerS: tokens / ((fbMs + opMs) / 1000), forwardBackwardTokensPerS: tokens / (fbMs / 1000),
    flopsPerToken: flops, bf16GemmGflops: rate, mfu: (flops * tokens) / ((fbMs + opMs) / 1000) / (rate * 1e9),
    torch: torch ?? {
      tokensPerS: tokens / (median(torchMs) / 1000), medianMs: median(torchMs),
      stepTokensPerS: tokens / ((median(torchStepFb) + median(torchStepOpt)) / 1000), stepMs: median(torchStepFb) + median(torchStepOpt),
      optimizerMs: median(torchStepOpt), ...torchInfo,
    },
  };
  opt.dispose();
  model.dispose();
  const t = r.torch && 'tokensPerS' in r.torch ? r.torch : undefined;
  console.log(`step     ${name} ${precision} B=${batch} S=${seq} ${device === 'cuda' ? `cuda (${info().cuda.devices[0]?.name})` : `${info().isa}/${r.threads}t`}  fwd+bwd ${fbMs.toFixed(1)} ms, optimizer ${opMs.toFixed(1)} ms` +
    ` | ${r.tokensPerS.toFixed(0)} tok/s (fwd+bwd ${r.forwardBackwardTokensPerS.toFixed(0)}) | MFU ${(100 * r.mfu).toFixed(1)}% of ${rate.toFixed(0)} GFLOP/s` +
    (t ? ` | PyTorch ${t.version} fwd+bwd ${t.tokensPerS.toFixed(0)} tok/s: ratio ${(r.forwardBackwardTokensPerS / t.tokensPerS).toFixed(2)}x;` +
      ` whole step with Muon ${t.stepTokensPerS.toFixed(0)} tok/s (optimizer ${t.optimizerMs.toFixed(0)} ms): ratio ${(r.tokensPerS / t.stepTokensPerS).toFixed(2)}x`
      : ` | PyTorch: ${(r.torch as { skipped: string }).skipped}`));
  return r;
}
