// The package root is the nearest package.json named moontrain, wherever the checkout lives: a
// checkout under a folder named `dist` once resolved to the wrong root.
import test from 'ava';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { findPackageRoot } from '../lib/package-root';
import { builtAddon, copyPackage } from './helpers/package-copy';

const root = path.join(__dirname, '..');

test('findPackageRoot skips other packages and folders named dist', (t) => {
  const top = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-root-'));
  const pkg = path.join(top, 'dist', 'moontrain');
  const inner = path.join(pkg, 'dist', 'lib', 'nested');
  fs.mkdirSync(inner, { recursive: true });
  fs.writeFileSync(path.join(top, 'package.json'), JSON.stringify({ name: 'moontrain' }));
  fs.writeFileSync(path.join(pkg, 'package.json'), JSON.stringify({ name: 'moontrain' }));
  fs.writeFileSync(path.join(pkg, 'dist', 'package.json'), JSON.stringify({ name: 'something-else' }));
  t.is(findPackageRoot(inner), pkg);
  t.is(findPackageRoot(path.join(pkg, 'dist', 'lib')), pkg);
  fs.rmSync(top, { recursive: true, force: true });
});

test('the CLI runs from a checkout under .../dist/moontrain', (t) => {
  if (!builtAddon) return t.fail('needs a built addon (npm run build)');
  const top = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-root-'));
  const copy = path.join(top, 'dist', 'moontrain');
  copyPackage(copy, builtAddon);
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(copy, 'lib', 'cli.ts'), 'info', '--json'], { cwd: copy, encoding: 'utf8' });
  fs.rmSync(top, { recursive: true, force: true });
  t.is(r.status, 0, r.stderr);
  t.is(JSON.parse(r.stdout).version, JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).version);
});
