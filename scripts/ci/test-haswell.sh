#!/usr/bin/env bash
# Runs the op tests on an emulated Haswell CPU (AVX2 + FMA, no AVX-512) with qemu-user: an
# AVX-512 instruction outside the ISA-specific files would die here with SIGILL.
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! command -v qemu-x86_64 >/dev/null; then
  echo "qemu-x86_64 not found (Debian: apt-get install qemu-user); skipping the Haswell run"
  exit 0
fi
node_bin=$(command -v node)
q() { qemu-x86_64 -cpu Haswell "$node_bin" "$@" 2> >(grep -v "TCG doesn't support" >&2); }
isa=$(q -p "require('./dist/lib').info().isa")
echo "emulated Haswell: isa=$isa"
[ "$isa" = avx2 ] || { echo "expected the avx2 path on Haswell, got $isa"; exit 1; }
q node_modules/ava/entrypoints/cli.mjs 'test/ops/**/*.test.ts' 'test/tensor.test.ts'

# Below the floor: an emulated Sandy Bridge (AVX, no AVX2/FMA) must get the documented Error from
# the addon's own CPUID check (qemu-user shows the host's /proc/cpuinfo, so the JS pre-check of
# scripts/cpu-floor.js passes here; test/cpu-floor.test.ts covers that one).
old=$(qemu-x86_64 -cpu SandyBridge "$node_bin" -e "try { require('./dist/lib'); console.log('loaded') } catch (e) { console.log(e.code) }" 2>/dev/null)
echo "emulated Sandy Bridge: $old"
[ "$old" = ERR_MOONTRAIN_UNSUPPORTED_CPU ] || { echo "expected ERR_MOONTRAIN_UNSUPPORTED_CPU on Sandy Bridge, got '$old'"; exit 1; }
