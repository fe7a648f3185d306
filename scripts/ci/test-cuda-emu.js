#!/usr/bin/env node
// Runs the op tests on the emulated CUDA backend: builds moontrain-emu.node (the same CUDA host
// code and kernels compiled by g++ against the CPU emulator, MOONTRAIN_CUDA_EMU) into
// build-cuda-emu-addon/, then runs every op test's 'cuda' variant (title "... [cuda]") with that
// addon, against the same float64 references as on the CPU (docs/gpu.md).
'use strict';
const { spawnSync } = require('child_process');
const path = require('path');

const root = path.join(__dirname, '..', '..');
const buildDir = path.join(root, 'build-cuda-emu-addon');
const run = (cmd, args, env) => {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } });
  if (r.status !== 0) process.exit(r.status ?? 1);
};
const generator = spawnSync('ninja', ['--version']).status === 0 ? ['-G', 'Ninja'] : [];
console.log('# op tests on the emulated CUDA backend (moontrain-emu.node)');
run('cmake', ['-S', '.', '-B', buildDir, ...generator, '-DMOONTRAIN_CUDA_EMU=ON', '-DCMAKE_BUILD_TYPE=Release'], {});
run('cmake', ['--build', buildDir, '-j', '2', '--target', 'moontrain']);
const ava = path.join(root, 'node_modules', 'ava', 'entrypoints', 'cli.mjs');
run(process.execPath, [ava, 'test/ops/**/*.test.ts', 'test/nn-ops/**/*.test.ts', '--match', '*[cuda]*', ...process.argv.slice(2)], {
  MOONTRAIN_ADDON: path.join(buildDir, 'moontrain-emu.node'),
  MOONTRAIN_TEST_DEVICES: 'cuda',
});
