#!/usr/bin/env bash
# What a user with no compiler gets from `npm install moontrain`: pack the package (with its
# prebuilt binary), install the tarball into fresh folders with cc, c++, cmake, make, nvcc and
# python removed from PATH, with and without install scripts, then run the main job for 20 steps,
# the API example, require() and import, and a TypeScript consumer of the types.
# Usage: bash scripts/ci/test-pack.sh [--keep DIR]   (DIR keeps the installed folders, for the GPU check)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
keep=""
[ "${1:-}" = "--keep" ] && keep=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
step() { echo "== pack: $*"; }
fail() { echo "pack check FAILED: $*" >&2; exit 1; }

cd "$root"
if [ ! -f prebuilds/linux-x64/moontrain.node ]; then
  step "prebuildify (cmake-js)"
  npm run prebuildify >/dev/null
fi
ls -l prebuilds/linux-x64/moontrain.node
step "npm pack"
tgz="$work/$(npm pack --silent --pack-destination "$work" | tail -1)"
listing=$(tar -tzf "$tgz")
grep -qx 'package/prebuilds/linux-x64/moontrain.node' <<<"$listing" || fail "the tarball has no prebuild"
if grep -q '^package/build/' <<<"$listing"; then fail "the tarball contains build/"; fi
if grep -qE '^package/(bench|dist/bench|dist/types/bench|scripts/ci|scripts/dev)/' <<<"$listing"; then fail "the tarball contains the benchmarks or the CI scripts"; fi
ls -l "$tgz"

# A PATH with every command except the build tools.
bin="$work/bin"
mkdir -p "$bin"
IFS=: read -r -a dirs <<<"$PATH"
for d in "${dirs[@]}"; do
  for f in "$d"/*; do
    name=${f##*/}
    case $name in
      cc | c++ | gcc | g++ | cpp | clang | clang++ | cmake | ninja | make | gmake | nvcc | python | python3 | python3.* | \
        *-linux-gnu-g++* | *-linux-gnu-gcc* | gcc-* | g++-* | c++-* | cc-*) continue ;;
    esac
    [ -x "$f" ] && [ ! -e "$bin/$name" ] && ln -s "$f" "$bin/$name"
  done
done
for tool in cc c++ g++ cmake make nvcc python3; do
  if PATH="$bin" command -v "$tool" >/dev/null; then fail "$tool is still on the stripped PATH"; fi
done
export MOONTRAIN_CACHE="$work/cache"

for mode in scripts no-scripts; do
  app="$work/app-$mode"
  mkdir -p "$app"
  cd "$app"
  echo '{ "name": "consumer", "version": "1.0.0", "private": true }' >package.json
  flags=(--no-audit --no-fund)
  [ "$mode" = no-scripts ] && flags+=(--ignore-scripts)
  step "npm install moontrain.tgz ($mode, no compilers on PATH)"
  PATH="$bin" npm install "${flags[@]}" "$tgz"
  [ -e node_modules/moontrain/build ] && fail "the install compiled something ($mode)"

  step "require() and import ($mode)"
  PATH="$bin" node -e "
    const m = require('moontrain');
    for (const k of ['tensor', 'ops', 'nn', 'optim', 'data', 'train', 'parallel', 'io', 'info']) if (!m[k]) throw new Error('require: no ' + k);
    console.log('require ok:', m.info().isa, 'cuda', m.info().cuda.available ? m.info().cuda.devices.map((d) => d.name).join(',') : m.info().cuda.reason);"
  PATH="$bin" node --input-type=module -e "
    import { tensor, ops, nn, optim, parallel } from 'moontrain';
    import moontrain from 'moontrain';
    const t = tensor([1, 2, 3, 4], [2, 2]);
    const y = ops.matmul(t, t);
    if (y.toFloat32Array().join() !== '7,10,15,22') throw new Error('import: wrong product');
    if (moontrain.tensor !== tensor || typeof nn.MoonlightModel !== 'function' || typeof optim.Muon !== 'function' || typeof parallel.init !== 'function') throw new Error('import: missing exports');
    console.log('import ok');"

  step "the API example (examples/api.mjs) ($mode)"
  cp "$root/examples/api.mjs" "$root/examples/zero.mjs" .
  PATH="$bin" node api.mjs
  step "the ZeRO-1 example (examples/zero.mjs): 2 rank processes ($mode)"
  PATH="$bin" node zero.mjs

  step "npx moontrain train --steps 20 ($mode)"
  PATH="$bin" npx moontrain train --steps 20 --eval-every 10 --eval-batches 2 --out run
  [ -s run/metrics.jsonl ] && [ -d run/checkpoint ] || fail "train left no metrics or checkpoint ($mode)"
  PATH="$bin" npx moontrain sample --checkpoint run --prompt "The jury" --tokens 8
  PATH="$bin" npx moontrain info --config tiny --json >/dev/null
  bench_msg=$(PATH="$bin" npx moontrain bench step 2>&1) && fail "bench ran without bench/ ($mode)"
  grep -q 'not in the npm package' <<<"$bench_msg" || fail "bench without bench/ did not say where the benchmarks are: $bench_msg"

  if [ "$mode" = scripts ]; then
    step "types: a consumer compiles, a misuse does not"
    cp "$root/test/types/consumer.ts" .
    cat >tsconfig.json <<'EOF'
{ "compilerOptions": { "target": "ES2022", "module": "node16", "moduleResolution": "node16", "strict": true,
    "lib": ["ES2022", "ESNext.Disposable"], "types": [], "noEmit": true, "skipLibCheck": false },
  "files": ["consumer.ts"] }
EOF
    PATH="$bin" "$root/node_modules/.bin/tsc" -p . || fail "the consumer does not compile against the installed types"
    printf "import { tensor } from 'moontrain';\ntensor([1], [1], { dtype: 'f16' });\n" >misuse.ts
    set +e
    echo '{ "extends": "./tsconfig.json", "files": ["misuse.ts"] }' >tsconfig.misuse.json
    out=$(PATH="$bin" "$root/node_modules/.bin/tsc" -p tsconfig.misuse.json)
    status=$?
    set -e
    [ $status -ne 0 ] && grep -q "misuse.ts(2,.*'\"f16\"'" <<<"$out" || fail "a misuse of the types was not rejected as such: $out"
    echo "rejected: $out"

    step "no prebuild and no compiler: the install says what to install"
    rm -rf node_modules/moontrain/prebuilds
    set +e
    msg=$(cd node_modules/moontrain && PATH="$bin" node scripts/install.js 2>&1)
    status=$?
    set -e
    [ $status -ne 0 ] || fail "install.js succeeded without a prebuild or a compiler"
    grep -q "sudo apt-get install build-essential cmake" <<<"$msg" || fail "install.js did not say what to install: $msg"
    grep -q "cmake and a C++ compiler not found" <<<"$msg" || fail "install.js did not say what was missing: $msg"
    echo "$msg" | head -4

    step "no prebuild, compilers present: the install builds from source (cmake-js)"
    (cd node_modules/moontrain && node scripts/install.js) >"$work/source-build.log" 2>&1 || { tail -30 "$work/source-build.log"; fail "the build from source failed"; }
    grep -q "building from source" "$work/source-build.log" || fail "install.js did not build from source"
    [ -f node_modules/moontrain/build/Release/moontrain.node ] || fail "no build/Release/moontrain.node after the build from source"
    PATH="$bin" node api.mjs >/dev/null
  fi
  cd "$root"
done

if [ -n "$keep" ]; then
  rm -rf "$keep"
  mkdir -p "$keep"
  cp -a "$work/app-no-scripts/." "$keep/"
  cp -a "$work/cache" "$keep/cache"
fi
step "passed"
