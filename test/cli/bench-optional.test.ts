// The npm package ships no bench/: there `moontrain bench` says in one line where the benchmarks are.
import test from 'ava';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { builtAddon, copyPackage } from '../helpers/package-copy';

test('moontrain bench without bench/ says how to get the benchmarks', (t) => {
  if (!builtAddon) return t.fail('needs a built addon (npm run build)');
  const top = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-nobench-'));
  copyPackage(top, builtAddon); // no bench/, as in the npm package
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(top, 'lib', 'cli.ts'), 'bench', 'step'], { cwd: top, encoding: 'utf8' });
  fs.rmSync(top, { recursive: true, force: true });
  t.is(r.status, 1, r.stderr);
  t.is(r.stdout, '');
  t.regex(r.stderr, /^moontrain bench: the benchmarks are not in the npm package; run them from a clone of the repository/);
  t.is(r.stderr.trim().split('\n').length, 1, r.stderr);
});
