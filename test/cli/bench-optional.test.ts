// The npm package ships no bench/: there `moontrain bench` says in one line where the benchmarks are.
import test from 'ava';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const root = path.join(__dirname, '..', '..');

test('moontrain bench without bench/ says how to get the benchmarks', (t) => {
  const addon = path.join(root, 'build', 'Release', 'moontrain.node');
  if (!fs.existsSync(addon)) return t.fail('needs a built addon (npm run build)');
  const top = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-nobench-'));
  fs.mkdirSync(path.join(top, 'build', 'Release'), { recursive: true });
  for (const entry of ['package.json', 'lib', 'types', 'scripts']) fs.cpSync(path.join(root, entry), path.join(top, entry), { recursive: true });
  fs.copyFileSync(addon, path.join(top, 'build', 'Release', 'moontrain.node'));
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(top, 'node_modules'));
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(top, 'lib', 'cli.ts'), 'bench', 'step'], { cwd: top, encoding: 'utf8' });
  fs.rmSync(top, { recursive: true, force: true });
  t.is(r.status, 1, r.stderr);
  t.is(r.stdout, '');
  t.regex(r.stderr, /^moontrain bench: the benchmarks are not in the npm package; run them from a clone of the repository/);
  t.is(r.stderr.trim().split('\n').length, 1, r.stderr);
});
