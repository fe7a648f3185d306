#!/usr/bin/env bash
# The check for a lent GPU host that may have no Node.js and no compilers: a packed `node`, the
# runtime node_modules and a fresh install of the npm tarball travel in .device/ (made by
# scripts/dev/device-pack.sh). It records the host, then runs on the prebuilt binary: the installed
# package (CUDA devices through the statically linked runtime, require/import, the API example,
# `moontrain train --steps 20`), the op tests on this host's best CPU path (AMX where present) and
# their 'cuda' variants on the GPU, and the CPU benchmarks with their anchors (GEMM, collectives
# with ranks <= cores, the training step beside the PyTorch twin when torch is installed). Everything goes to $OUT (default
# bench/results/device-<date>), one file per part, written as it finishes.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
out=${OUT:-$root/bench/results/device-$(date +%F)}
mkdir -p "$out"
scratch=$(mktemp -d)
source scripts/dev/device-env.sh
export MOONTRAIN_CACHE="$scratch/app/cache" OPENBLAS_THREAD_TIMEOUT=4

cd "$scratch/app"
part installed-info 60 node -e "
  const m = require('moontrain'); const i = m.info();
  console.log(JSON.stringify({ isa: i.isa, isaAvailable: i.isaAvailable, threads: i.threads, cuda: i.cuda }, null, 1));"
cp "$out/installed-info.txt" "$out/installed-info.json" 2>/dev/null
part installed-import 60 node --input-type=module -e "
  import { tensor, ops } from 'moontrain';
  const y = ops.matmul(tensor([1, 2, 3, 4], [2, 2]), tensor([1, 2, 3, 4], [2, 2]));
  if (y.toFloat32Array().join() !== '7,10,15,22') throw new Error('wrong product'); console.log('import ok');"
part installed-api-example 60 node api.mjs
part installed-train 120 node node_modules/moontrain/dist/lib/cli.js train --steps 20 --eval-every 10 --eval-batches 2 --out "$scratch/run"
cd "$root"

part op-tests 240 env MOONTRAIN_TEST_DEVICES=cpu node_modules/.bin/ava --timeout=4m test/ops test/nn-ops test/errors.test.ts test/optim
# The op tests' 'cuda' variants (test/helpers/devices.ts) on this GPU with the prebuilt binary: the
# same float64 references and tolerances as on the CPU and on the emulator.
if node -e "process.exit(require('node-gyp-build')('.').info().cuda.available ? 0 : 1)"; then
  part op-tests-cuda 240 env MOONTRAIN_TEST_DEVICES=cuda node_modules/.bin/ava --timeout=4m test/ops test/nn-ops --match '*[cuda]*'
else
  log "op-tests-cuda: skipped, CUDA is not usable here"
fi
part bench-gemm 150 node dist/lib/cli.js bench gemm --repeats 5 --json "$out/cpu-gemm.json"
part bench-ns 120 node dist/lib/cli.js bench ns --repeats 3 --json "$out/cpu-ns.json"
for n in 2 3 4; do
  part "bench-allgather-n$n" 90 node dist/lib/cli.js bench allgather --nproc $n --json "$out/cpu-allgather-n$n.json"
  part "bench-reducescatter-n$n" 90 node dist/lib/cli.js bench reducescatter --nproc $n --json "$out/cpu-reducescatter-n$n.json"
done
part bench-step 240 node dist/lib/cli.js bench step --json "$out/cpu-step.json"
log "done"
rm -rf "$scratch"
