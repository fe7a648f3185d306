#!/usr/bin/env node
// Install step: use a matching prebuild (or an existing build) when one loads, otherwise build
// from source with cmake-js. Never leaves the user with only a wall of compiler output: when
// the build cannot run, it says why no binary fits and what to install.
'use strict';
const path = require('path');
const { spawnSync } = require('child_process');

const root = path.join(__dirname, '..');

/** null when the addon loads, else the loader's message. */
function loadError() {
  try {
    require('node-gyp-build')(root);
    return null;
  } catch (err) {
    if (err && err.code === 'ERR_MOONTRAIN_UNSUPPORTED_CPU') {
      // A build from source would not help either.
      console.error(`moontrain: ${err.message}`);
      process.exit(1);
    }
    return String((err && err.message) || err).split('\n')[0];
  }
}

function onPath(command) {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

function fail(why, noPrebuild) {
  console.error(`
moontrain: could not install the native addon.
  No prebuilt binary loads on this machine (${process.platform}-${process.arch}, Node ${process.version}):
    ${noPrebuild}
  The prebuilt binary needs Linux x64 with glibc >= 2.34 and libstdc++ from GCC >= 11.
  Building from source failed: ${why}.
To build from source you need a C++17 compiler (g++ >= 10 or clang >= 12) and CMake >= 3.18,
and optionally the CUDA toolkit (nvcc) for GPU support. On Debian/Ubuntu:
    sudo apt-get install build-essential cmake
then run: npm rebuild moontrain
`);
  process.exit(1);
}

if (process.env.MOONTRAIN_SKIP_BUILD) process.exit(0);
const cpuProblem = require('./cpu-floor').cpuFloorProblem();
if (cpuProblem) {
  // Neither the prebuilt binary nor a build from source (same floor) would run here.
  console.error(`moontrain: ${cpuProblem}`);
  process.exit(1);
}
const noPrebuild = loadError();
if (noPrebuild === null) process.exit(0);

const missing = [];
if (!onPath('cmake')) missing.push('cmake');
if (!['c++', 'g++', 'clang++'].some(onPath)) missing.push('a C++ compiler');
if (missing.length) fail(`${missing.join(' and ')} not found on PATH`, noPrebuild);

let cmakeJs;
try {
  cmakeJs = require.resolve('cmake-js/bin/cmake-js');
} catch {
  fail('cmake-js is not installed', noPrebuild);
}
console.log('moontrain: no prebuilt binary fits this machine; building from source with cmake-js');
const r = spawnSync(process.execPath, [cmakeJs, 'rebuild'], { cwd: root, stdio: 'inherit' });
if (r.status !== 0) fail(`cmake-js exited with status ${r.status} (its output is above)`, noPrebuild);
const afterBuild = loadError();
if (afterBuild !== null) fail(`the build finished but the addon does not load: ${afterBuild}`, noPrebuild);
