// The native binary's floor is x86-64-v3 (AVX2 + FMA). On an older CPU, loading it dies on an
// illegal instruction in static initialisers before its own CPUID check can run (measured:
// SIGILL on an emulated Nehalem), so moontrain reads the CPU flags first and throws this Error
// instead. Shared by lib/native.ts and scripts/install.js.
'use strict';
const fs = require('fs');

/** null when this CPU can run the binary (or the flags cannot be read), else the reason. */
function cpuFloorProblem(cpuinfoPath = process.env.MOONTRAIN_CPUINFO || '/proc/cpuinfo') {
  if (process.platform !== 'linux' || process.arch !== 'x64') return null;
  let text;
  try {
    text = fs.readFileSync(cpuinfoPath, 'utf8');
  } catch {
    return null;
  }
  const line = text.split('\n').find((l) => /^flags\s*:/.test(l));
  if (!line) return null;
  const flags = new Set(line.slice(line.indexOf(':') + 1).trim().split(/\s+/));
  const missing = ['avx2', 'fma'].filter((f) => !flags.has(f));
  if (!missing.length) return null;
  return `moontrain needs an x86-64 CPU with AVX2 and FMA (Intel Haswell / AMD Excavator or newer); this CPU lacks ${missing.join(' and ')}`;
}

/** Throws the documented Error (code ERR_MOONTRAIN_UNSUPPORTED_CPU) on a CPU below the floor. */
function assertCpuFloor() {
  const problem = cpuFloorProblem();
  if (problem) throw Object.assign(new Error(problem), { code: 'ERR_MOONTRAIN_UNSUPPORTED_CPU' });
}

module.exports = { cpuFloorProblem, assertCpuFloor };
