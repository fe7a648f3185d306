#!/usr/bin/env bash
# Packs what scripts/dev/device-check.sh needs on a host with no Node.js into .device/ (git-ignored):
# this machine's node binary, the runtime node_modules (no TypeScript compiler), a fresh install
# of the npm tarball (from scripts/ci/test-pack.sh) with the tokenizer cache, and libstdc++.
# Then: run(command="bash scripts/dev/device-check.sh", carry=[".device", "dist", "prebuilds", "build/bench"]).
set -euo pipefail
cd "$(dirname "$0")/../.."
rm -rf .device && mkdir -p .device/lib
xz -T0 -6 -c "$(readlink -f "$(command -v node)")" >.device/node.xz
cp "$(g++ -print-file-name=libstdc++.so.6)" .device/lib/ 2>/dev/null || cp /lib/x86_64-linux-gnu/libstdc++.so.6 .device/lib/
tar -cJf .device/node_modules.tar.xz --exclude=node_modules/typescript --exclude=node_modules/@typescript node_modules
app=$(mktemp -d)
bash scripts/ci/test-pack.sh --keep "$app" >/dev/null
tar -C "$app" -cJf .device/app.tar.xz .
rm -rf "$app"
du -sh .device dist prebuilds build/bench
