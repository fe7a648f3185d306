#!/usr/bin/env bash
# The op tests on the CUDA backend only: `gpu` on the real GPU (the prebuilt or built addon), `dry`
# on the emulated build (moontrain-emu.node, scripts/ci/test-cuda-emu.js). Every op marked cuda in
# native/op_list.h is checked against the same float64 references and tolerances as on the CPU.
set -uo pipefail
cd "$(dirname "$0")/../.."
case "${1:-gpu}" in
  gpu) MOONTRAIN_TEST_DEVICES=cuda exec node_modules/.bin/ava --timeout=4m test/ops test/nn-ops ;;
  dry) exec node scripts/ci/test-cuda-emu.js ;;
  *) echo "usage: $0 gpu|dry" >&2; exit 2 ;;
esac
