// The device run's one table: moontrain's GPU kernels and training step beside PyTorch on the same
// GPU. Reads `bench cuda --json` (ours), bench/anchors/torch_cuda.py's output and, when present,
// `bench step --device cuda --json`; writes summary.md. Targets: every result within its
// tolerance, bf16 matmul 8192³ at >= 50% of torch.matmul's, the step at >= 1.0x the twin's tokens/s.
import * as fs from 'fs';
import type { CudaCase } from './cuda';

interface TorchCase { kernel: string; shape: string; ms: number; how?: string }

export function cudaSummary(oursFile: string, torchFile: string, stepFile: string | undefined, outFile: string): boolean {
  const ours = JSON.parse(fs.readFileSync(oursFile, 'utf8')) as { cases: CudaCase[]; reference: string; gpu: string };
  const torch = JSON.parse(fs.readFileSync(torchFile, 'utf8')) as { torch: string; gpu: string; cases: TorchCase[] };
  const theirs = (c: { kernel: string; shape: string }) => torch.cases.find((t) => t.kernel === c.kernel && t.shape === c.shape);
  const ref = ours.cases.find((c) => `${c.kernel} ${c.shape}` === ours.reference);
  const refTorch = ref && theirs(ref);
  // TFLOP/s of torch.matmul on the reference shape: the yardstick of the % column.
  const yardstick = ref && refTorch ? (ref.tflops * ref.ms) / refTorch.ms : NaN;
  const rows: string[] = [];
  let pass = true;
  for (const c of ours.cases) {
    const t = theirs(c);
    const ratio = t ? t.ms / c.ms : NaN;
    const accurate = c.maxError <= c.tolerance;
    const fast = c === ref ? ratio >= 0.5 : true;
    pass &&= accurate && fast;
    rows.push(`| ${c.kernel} | ${c.shape} | ${c.ms.toFixed(3)} | ${c.tflops.toFixed(1)} | ${(100 * c.tflops / yardstick).toFixed(1)}% | ` +
      `${t ? `${ratio.toFixed(2)}x${t.how && t.how !== 'torch._grouped_mm' ? ` (vs ${t.how})` : ''}` : 'no torch case'} | ${c.maxError.toExponential(2)} | ${accurate && fast ? 'PASS' : 'FAIL'}${c === ref ? ' (target >= 0.5x)' : ''} |`);
  }
  if (stepFile && fs.existsSync(stepFile)) {
    const step = JSON.parse(fs.readFileSync(stepFile, 'utf8')) as { steps: { config: string; tokensPerS: number; stepMs: number; torch?: { stepTokensPerS?: number; skipped?: string } }[] };
    for (const s of step.steps) {
      const twin = s.torch?.stepTokensPerS;
      const ok = twin !== undefined && s.tokensPerS >= twin;
      pass &&= ok;
      rows.push(`| train step | ${s.config} | ${s.stepMs.toFixed(1)} | ${Math.round(s.tokensPerS)} tok/s | | ${twin ? `${(s.tokensPerS / twin).toFixed(2)}x` : s.torch?.skipped ?? 'no twin'} | | ${ok ? 'PASS' : 'FAIL'} (target >= 1.0x) |`);
    }
  }
  const text = [
    `# GPU kernels beside PyTorch: ${ours.gpu} (PyTorch ${torch.torch} on ${torch.gpu})`,
    '',
    `% of torch = TFLOP/s over torch.matmul's on ${ours.reference} (${yardstick.toFixed(1)} TFLOP/s); ratio = torch ms / moontrain ms; max error: sampled GEMM entries against float64 sums of the same bf16 inputs, Newton–Schulz against the CPU backend (relative Frobenius).`,
    '',
    '| kernel | shape | ms | TFLOP/s | % of torch.matmul | ratio to torch | max error | result |',
    '|---|---|---|---|---|---|---|---|',
    ...rows,
    '',
    `overall: ${pass ? 'PASS' : 'FAIL'}`,
    '',
  ].join('\n');
  fs.writeFileSync(outFile, text);
  console.log(text);
  return pass;
}
