#!/usr/bin/env bash
# Records where the elements of ldmatrix and mma.sync fragments really land on this machine's GPU
# and writes them as test/fixtures/cuda-probes.json, which the emulator's tests then compare
# themselves against (test/cuda/emulator.test.ts, group "probes"). On a Hopper GPU also the wgmma
# layouts (test/fixtures/cuda-probes-sm90.json) and TMA box loads (test/fixtures/cuda-probes-tma.json,
# compared with native/cuda/device/tma_layout.h: group "tma").
#
#   bash scripts/dev/cuda-probes.sh            on a GPU host: build, run, write the fixture, compare
#   bash scripts/dev/cuda-probes.sh --dry-run  anywhere with nvcc: build the probe program, write the
#                                              emulator's own probe file and check the comparison
#                                              (a file matches itself, a changed one is reported)
#   --force                                    replace an existing fixture that differs
# Needs nvcc (and cmake + a C++ compiler for the comparison); nothing else.
set -euo pipefail
cd "$(dirname "$0")/../.."
dry=0
force=0
for a in "$@"; do
  case "$a" in
    --dry-run) dry=1 ;;
    --force) force=1 ;;
    *) echo "usage: $0 [--dry-run] [--force]" >&2; exit 2 ;;
  esac
done
nvcc=${NVCC:-nvcc}
out_dir=build-cuda-probes
fixture=test/fixtures/cuda-probes.json
mkdir -p "$out_dir"

# Built once (here, or on a host with nvcc); a host without compilers uses the carried binaries.
if [ ! -x "$out_dir/cuda_probes" ] || [ -n "$(find native/cuda/probes native/cuda/device -newer "$out_dir/cuda_probes" 2>/dev/null)" ]; then
  echo "== building the probe program ($nvcc, sm_80 + sm_90)"
  timeout 300 "$nvcc" -std=c++17 -O2 -o "$out_dir/cuda_probes" native/cuda/probes/probe_main.cu \
    -gencode arch=compute_80,code=sm_80 -gencode arch=compute_90,code=sm_90 -gencode arch=compute_90,code=compute_90
fi
# The Hopper probe (wgmma fragment and shared-memory layouts, for part 2): sm_90a only.
if [ ! -x "$out_dir/wgmma_probe" ] || [ native/cuda/probes/wgmma_probe_main.cu -nt "$out_dir/wgmma_probe" ]; then
  echo "== building the wgmma probe ($nvcc, sm_90a)"
  timeout 300 "$nvcc" -std=c++17 -O2 -o "$out_dir/wgmma_probe" native/cuda/probes/wgmma_probe_main.cu -gencode arch=compute_90a,code=sm_90a
fi
if [ ! -x "$out_dir/tma_probe" ] || [ -n "$(find native/cuda/probes/tma_probe_main.cu native/cuda/probes/tma_probes.h native/cuda/device/tma_layout.h -newer "$out_dir/tma_probe" 2>/dev/null)" ]; then
  echo "== building the TMA probe ($nvcc, sm_90a)"
  timeout 300 "$nvcc" -std=c++17 -O2 -o "$out_dir/tma_probe" native/cuda/probes/tma_probe_main.cu -gencode arch=compute_90a,code=sm_90a
fi
if command -v cmake >/dev/null; then
  echo "== building the emulator's tests"
  cmake -S test/cuda -B build-cuda-emu -DCMAKE_BUILD_TYPE=Release >/dev/null
  timeout 300 cmake --build build-cuda-emu -j "$(nproc 2>/dev/null || echo 2)" >/dev/null
fi
emu=build-cuda-emu/cuda_emu_tests

if [ "$dry" = 1 ]; then
  echo "== dry run: the emulator's probe file, compared with itself and with a changed copy"
  "$emu" write-probes "$out_dir/emulator-probes.json"
  node -e "JSON.parse(require('fs').readFileSync('$out_dir/emulator-probes.json', 'utf8'))"
  "$emu" probes "$out_dir/emulator-probes.json"
  sed '0,/"x1": \[\[\[0, 1\]\]/s//"x1": [[[1, 0]]/' "$out_dir/emulator-probes.json" >"$out_dir/changed-probes.json"
  if "$emu" probes "$out_dir/changed-probes.json" >"$out_dir/changed.log"; then
    echo "dry run FAILED: a changed probe file was not reported"; exit 1
  fi
  echo "a changed probe file is reported: $(grep 'not ok' "$out_dir/changed.log" | cut -c1-160)"
  "$emu" write-tma "$out_dir/predicted-tma.json"
  node -e "JSON.parse(require('fs').readFileSync('$out_dir/predicted-tma.json', 'utf8'))"
  "$emu" tma "$out_dir/predicted-tma.json"
  sed '0,/"smem": \[/s//"smem": [7, /' "$out_dir/predicted-tma.json" >"$out_dir/changed-tma.json"
  if "$emu" tma "$out_dir/changed-tma.json" >"$out_dir/changed-tma.log"; then
    echo "dry run FAILED: a changed TMA probe file was not reported"; exit 1
  fi
  echo "a changed TMA probe file is reported: $(grep 'not ok' "$out_dir/changed-tma.log" | cut -c1-160)"
  if command -v nvidia-smi >/dev/null && nvidia-smi -L >/dev/null 2>&1; then
    echo "a GPU is visible: run without --dry-run to record $fixture"
  fi
  echo "dry run passed"
  exit 0
fi

if nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | grep -q '^9\.0'; then
  echo "== the wgmma probe (Hopper): test/fixtures/cuda-probes-sm90.json"
  timeout 60 "$out_dir/wgmma_probe" test/fixtures/cuda-probes-sm90.json || echo "the wgmma probe FAILED (exit $?); the other probes go on"
  echo "== the TMA probe (Hopper): test/fixtures/cuda-probes-tma.json"
  if timeout 60 "$out_dir/tma_probe" test/fixtures/cuda-probes-tma.json; then
    "$emu" tma test/fixtures/cuda-probes-tma.json || echo "tma_layout.h differs from the TMA probe: fix the reading (the fixture is the fact)"
  else
    echo "the TMA probe FAILED (exit $?); the other probes go on"
  fi
fi
echo "== running the probes on the GPU"
timeout 120 "$out_dir/cuda_probes" "$out_dir/gpu-probes.json"
mkdir -p "$(dirname "$fixture")"
if [ -f "$fixture" ] && ! cmp -s "$fixture" "$out_dir/gpu-probes.json" && [ "$force" = 0 ]; then
  cp "$out_dir/gpu-probes.json" "$fixture.new"
  echo "$fixture exists and differs: the new probes are in $fixture.new (--force replaces it)"
  fixture="$fixture.new"
else
  cp "$out_dir/gpu-probes.json" "$fixture"
fi
echo "== the emulator against $fixture"
"$emu" probes "$fixture"
