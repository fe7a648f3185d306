#!/usr/bin/env node
// Builds the addon with AddressSanitizer + UBSan (build-asan/) and runs the native tests with
// libasan preloaded into node (leak detection off: V8 itself keeps allocations until exit).
'use strict';
const { execFileSync, spawnSync } = require('child_process');
const path = require('path');

const root = path.join(__dirname, '..', '..');
const run = (cmd, args, env) => {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } });
  if (r.status !== 0) process.exit(r.status ?? 1);
};
const generator = spawnSync('ninja', ['--version']).status === 0 ? ['-G', 'Ninja'] : [];
run('cmake', ['-S', '.', '-B', 'build-asan', ...generator, '-DMOONTRAIN_SANITIZE=ON', '-DMOONTRAIN_CUDA=OFF', '-DCMAKE_BUILD_TYPE=RelWithDebInfo']);
run('cmake', ['--build', 'build-asan', '-j', '2']);
const libasan = execFileSync('g++', ['-print-file-name=libasan.so']).toString().trim();
const env = {
  LD_PRELOAD: libasan,
  ASAN_OPTIONS: 'detect_leaks=0:abort_on_error=1',
  UBSAN_OPTIONS: 'halt_on_error=1:print_stacktrace=1',
  MOONTRAIN_ADDON: path.join(root, 'build-asan', 'moontrain.node'),
};
// Worker threads would share one sanitized process anyway; child processes keep reports apart.
const ava = path.join(root, 'node_modules', 'ava', 'entrypoints', 'cli.mjs');
run(process.execPath, [ava, '--no-worker-threads', 'test/**/*.test.ts', ...process.argv.slice(2)], env);
run(process.execPath, [path.join(root, 'scripts', 'ci', 'test-isas.js'), '--no-worker-threads'], env);
