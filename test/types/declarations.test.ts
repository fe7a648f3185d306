// The public declarations compile for a consumer that has no @types/node, as an installed
// package's users may not: a declaration reachable from types/index.d.ts that names a Node type
// (Buffer, fs, NodeJS.*) breaks their build. The packaging check of CI tests the same on the
// installed tarball; this finds it in seconds.
import test from 'ava';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const root = path.join(__dirname, '..', '..');
const tsc = path.join(root, 'node_modules', '.bin', 'tsc');

function run(args: string[], cwd: string): string {
  const r = spawnSync(tsc, args, { cwd, encoding: 'utf8' });
  return r.status === 0 ? '' : `${r.stdout}${r.stderr}` || `tsc exited with ${r.status}`;
}

test('a consumer without @types/node compiles against the declarations', (t) => {
  const top = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-decl-'));
  try {
    const pkg = path.join(top, 'node_modules', 'moontrain');
    fs.mkdirSync(pkg, { recursive: true });
    fs.cpSync(path.join(root, 'types'), path.join(pkg, 'types'), { recursive: true });
    fs.writeFileSync(path.join(pkg, 'package.json'), JSON.stringify({ name: 'moontrain', types: 'types/index.d.ts' }));
    const emitted = run(['-p', 'tsconfig.build.json', '--emitDeclarationOnly', '--declarationDir', path.join(pkg, 'dist', 'types')], root);
    t.is(emitted, '', 'declarations emitted');
    fs.mkdirSync(path.join(pkg, 'dist', 'types', 'types'), { recursive: true });
    fs.writeFileSync(path.join(pkg, 'dist', 'types', 'types', 'core.d.ts'), "export * from '../../../types/core';\n");
    fs.copyFileSync(path.join(root, 'test', 'types', 'consumer.ts'), path.join(top, 'consumer.ts'));
    const compilerOptions = {
      target: 'ES2022', module: 'node16', moduleResolution: 'node16', strict: true,
      lib: ['ES2022', 'ESNext.Disposable'], types: [], noEmit: true, skipLibCheck: false,
    };
    fs.writeFileSync(path.join(top, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: ['consumer.ts'] }));
    t.is(run(['-p', '.'], top), '');
  } finally {
    fs.rmSync(top, { recursive: true, force: true });
  }
});
