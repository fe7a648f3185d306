#!/usr/bin/env node
// Install step: use a matching prebuild (or an existing build) when one loads, otherwise build
// from source with cmake-js. Never leaves the user with only a wall of compiler output.
'use strict';
const path = require('path');
const { spawnSync } = require('child_process');

const root = path.join(__dirname, '..');

function loads() {
  try {
    require('node-gyp-build')(root);
    return true;
  } catch {
    return false;
  }
}

if (process.env.MOONTRAIN_SKIP_BUILD) process.exit(0);
if (loads()) process.exit(0);

let cmakeJs;
try {
  cmakeJs = require.resolve('cmake-js/bin/cmake-js');
} catch {
  fail('cmake-js is not installed');
}
console.log('moontrain: no prebuilt binary for this platform; building from source with cmake-js');
const r = spawnSync(process.execPath, [cmakeJs, 'rebuild'], { cwd: root, stdio: 'inherit' });
if (r.status !== 0) fail(`cmake-js exited with status ${r.status}`);
if (!loads()) fail('the build finished but the addon does not load');

function fail(why) {
  console.error(`
moontrain: could not build the native addon (${why}).
To build from source you need: a C++17 compiler (g++ >= 10 or clang >= 12), CMake >= 3.18,
and optionally the CUDA toolkit (nvcc) for GPU support. On Debian/Ubuntu:
    sudo apt-get install build-essential cmake
then run: npm rebuild moontrain
`);
  process.exit(1);
}
