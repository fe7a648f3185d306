// Below the binary's floor (AVX2 + FMA) moontrain must refuse with a sentence, not die on an
// illegal instruction: the flags are read before the addon is loaded (scripts/cpu-floor.js).
import test from 'ava';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const root = path.join(__dirname, '..');
const { cpuFloorProblem } = require(path.join(root, 'scripts', 'cpu-floor.js')) as { cpuFloorProblem(file?: string): string | null };
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-cpu-'));
const cpuinfo = (flags: string) => {
  const file = path.join(dir, `cpuinfo-${flags.length}-${Math.random().toString(36).slice(2)}`);
  fs.writeFileSync(file, `processor\t: 0\nvendor_id\t: GenuineIntel\nflags\t\t: ${flags}\n\nprocessor\t: 1\nflags\t\t: ${flags}\n`);
  return file;
};

test('the flags of a Haswell pass; a Sandy Bridge lacks avx2 and fma; a Nehalem too', (t) => {
  t.is(cpuFloorProblem(cpuinfo('fpu sse sse2 ssse3 sse4_2 avx avx2 fma bmi2')), null);
  t.regex(cpuFloorProblem(cpuinfo('fpu sse sse2 ssse3 sse4_2 avx')) ?? '', /needs an x86-64 CPU with AVX2 and FMA.*lacks avx2 and fma/);
  t.regex(cpuFloorProblem(cpuinfo('fpu sse sse2 ssse3 sse4_2 fma')) ?? '', /lacks avx2$/);
  t.is(cpuFloorProblem(path.join(dir, 'missing')), null, 'unreadable flags: let the native check decide');
});

test('require() throws ERR_MOONTRAIN_UNSUPPORTED_CPU and the install script exits 1 with the sentence', (t) => {
  const env = { ...process.env, MOONTRAIN_CPUINFO: cpuinfo('fpu sse sse2 sse4_2 avx') };
  const load = spawnSync(process.execPath, ['--import', 'tsx', '-e', "try { require('./lib'); console.log('loaded') } catch (e) { console.log(e.code + ': ' + e.message) }"], { cwd: root, env, encoding: 'utf8' });
  t.is(load.status, 0, load.stderr);
  t.regex(load.stdout, /^ERR_MOONTRAIN_UNSUPPORTED_CPU: moontrain needs an x86-64 CPU with AVX2 and FMA/);
  const install = spawnSync(process.execPath, [path.join(root, 'scripts', 'install.js')], { cwd: root, env, encoding: 'utf8' });
  t.is(install.status, 1);
  t.regex(install.stderr, /^moontrain: moontrain needs an x86-64 CPU with AVX2 and FMA/);
});
