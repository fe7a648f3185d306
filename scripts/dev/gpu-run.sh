#!/usr/bin/env bash
# The device run: everything a lent GPU host checks, in one script under 7 minutes, results in
# bench/results/<date>-<gpu>/ (or $OUT) with one summary table (summary.md):
#   probes      where mma.sync and ldmatrix fragment elements really land -> test/fixtures/cuda-probes.json,
#               and the emulator compared with it; on Hopper also wgmma's (cuda-probes-sm90.json) and TMA box loads (cuda-probes-tma.json);
#   op tests    every CUDA op test on the real GPU, against the CPU backend and float64;
#   sanitizer   compute-sanitizer memcheck and racecheck over the op tests' small shapes;
#   benchmarks  bf16 matmul, grouped expert GEMM and batched Newton-Schulz beside PyTorch on the same
#               GPU, and the `small` training step beside the PyTorch twin;
#   hf-check    transformers loads moontrain's checkpoints with the same logits (host CPU).
# Prepare here: `bash scripts/dev/device-pack.sh` (node, node_modules, the installed package) and
# `bash scripts/dev/gpu-run.sh --build` (the probe program and the emulator's tests, compiled here
# so the host needs no compiler), then run(command="bash scripts/dev/gpu-run.sh",
# carry=[".device", "dist", "prebuilds", "build/Release", "build-cuda-probes", "build-cuda-emu"]).
#   --dry-run   on a machine without a GPU: every step that needs none, on quick shapes (the
#               probes' dry run, the op tests on the emulated backend, the summary from stand-in
#               numbers), to catch mistakes before a GPU is lent.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
mode=gpu
case "${1:-}" in
  --dry-run) mode=dry ;;
  --build) mode=build ;;
  "") ;;
  *) echo "usage: $0 [--dry-run | --build]" >&2; exit 2 ;;
esac

if [ "$mode" = build ]; then
  bash scripts/dev/cuda-probes.sh --dry-run
  exit $?
fi

gpu_name=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1)
if [ "$mode" = gpu ] && [ -z "$gpu_name" ]; then echo "no GPU visible (nvidia-smi): use --dry-run" >&2; exit 1; fi
slug=$(echo "${gpu_name:-dry-run}" | tr 'A-Z ' 'a-z-' | tr -cd 'a-z0-9-' | sed 's/^nvidia-//')
out=${OUT:-$root/bench/results/$(date +%F)-$slug}
mkdir -p "$out"
scratch=$(mktemp -d)
source scripts/dev/device-env.sh
export MOONTRAIN_CACHE="$scratch/app/cache"
quick=()
[ "$mode" = dry ] && quick=(--quick)

if [ "$mode" = dry ]; then
  part cuda-probes 300 bash scripts/dev/cuda-probes.sh --dry-run
else
  part cuda-probes 120 bash scripts/dev/cuda-probes.sh
  cp test/fixtures/cuda-probes*.json* "$out/" 2>/dev/null
fi
part cuda-op-tests 200 bash scripts/dev/cuda-op-tests.sh "$mode"
if [ "$mode" = gpu ]; then
  part sanitizer-memcheck 100 compute-sanitizer --tool memcheck --error-exitcode 1 --target-processes all bash scripts/dev/cuda-op-tests.sh gpu
  part sanitizer-racecheck 100 compute-sanitizer --tool racecheck --error-exitcode 1 --target-processes all bash scripts/dev/cuda-op-tests.sh gpu
  part bench-cuda 120 node dist/lib/cli.js bench cuda --json "$out/cuda-ours.json"
  part torch-cuda 90 bash -c "'$MOONTRAIN_PYTHON' bench/anchors/torch_cuda.py > '$out/cuda-torch.json'"
  part bench-step-cuda 150 node dist/lib/cli.js bench step --device cuda --config small --json "$out/cuda-step.json"
  part hf-check 90 node dist/bench/anchors/hf-check.js --json "$out/hf-check.json"
  part summary 30 node dist/lib/cli.js bench cuda-summary "$out/cuda-ours.json" "$out/cuda-torch.json" "$out/cuda-step.json" --out "$out/summary.md"
else
  # The summary's code on stand-in numbers: our quick cases as both sides (every ratio 1.00x).
  node -e "
    const fs = require('fs'); const cases = JSON.parse(fs.readFileSync('bench/cuda-cases.json', 'utf8'));
    const shape = { matmul: ([m, n, k]) => m + 'x' + n + 'x' + k, grouped: ([e, r, k, n]) => e + 'e ' + r + 'x' + n + 'x' + k, ns: ([b, r, c]) => b + 'x' + r + 'x' + c };
    const ours = []; for (const kernel of ['matmul', 'grouped', 'ns']) for (const c of cases.quick[kernel]) ours.push({ kernel, shape: shape[kernel](c), ms: 1, tflops: 1, maxError: 0, tolerance: 1e-2 });
    const ref = cases.quick.matmul[0]; const reference = 'matmul ' + shape.matmul(ref);
    fs.writeFileSync('$out/cuda-ours.json', JSON.stringify({ cases: ours, reference, gpu: 'dry run' }));
    fs.writeFileSync('$out/cuda-torch.json', JSON.stringify({ torch: 'dry run', gpu: 'dry run', cases: ours.map(({ kernel, shape, ms }) => ({ kernel, shape, ms })) }));"
  part summary 30 node dist/lib/cli.js bench cuda-summary "$out/cuda-ours.json" "$out/cuda-torch.json" --out "$out/summary.md"
fi
log "done"
rm -rf "$scratch"
