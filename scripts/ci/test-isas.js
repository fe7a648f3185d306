#!/usr/bin/env node
// Runs the op tests (GEMM family and the neural-network ops built on it) once more under every
// lower ISA path this CPU has (MOONTRAIN_ISA), so each kernel family is checked against the
// float64 references on one machine. The best path was already tested by the plain `ava` run.
'use strict';
const { spawnSync } = require('child_process');
const path = require('path');

const root = path.join(__dirname, '..', '..');
const addon = process.env.MOONTRAIN_ADDON ? require(path.resolve(process.env.MOONTRAIN_ADDON)) : require('node-gyp-build')(root);
const available = addon.info().isaAvailable;
const all = ['amx', 'avx512bf16', 'avx512', 'avx2', 'scalar'];
for (const isa of all) {
  if (!available.includes(isa)) console.log(`# ISA ${isa}: skipped, this CPU does not support it`);
}
const lower = available.slice(0, -1).reverse();
let failed = false;
for (const isa of lower) {
  console.log(`# op tests under MOONTRAIN_ISA=${isa}`);
  const r = spawnSync(process.execPath, [path.join(root, 'node_modules', 'ava', 'entrypoints', 'cli.mjs'), 'test/ops/**/*.test.ts', 'test/nn-ops/**/*.test.ts', ...process.argv.slice(2)], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, MOONTRAIN_ISA: isa },
  });
  if (r.status !== 0) failed = true;
}
process.exit(failed ? 1 : 0);
