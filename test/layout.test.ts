// The house stays readable: small source files, and every folder named in docs/design.md's table
// ("Where things are") with its job.
import test from 'ava';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

const root = path.join(__dirname, '..');
// The files git tracks and the new ones it does not ignore, as they are in the working tree.
const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: root, encoding: 'utf8', maxBuffer: 64 << 20 })
  .split('\0')
  .filter((f) => f !== '' && fs.existsSync(path.join(root, f)));

const MAX_LINES = 500;

test(`no source file under lib/ or native/napi/ is longer than ${MAX_LINES} lines`, (t) => {
  const sources = files.filter((f) => /^(lib|native\/napi)\//.test(f) && /\.(ts|cc|h)$/.test(f));
  t.true(sources.length > 0);
  const long = sources
    .map((f) => ({ f, lines: fs.readFileSync(path.join(root, f), 'utf8').split('\n').length - 1 }))
    .filter(({ lines }) => lines > MAX_LINES)
    .map(({ f, lines }) => `${f}: ${lines} lines`);
  t.deepEqual(long, []);
});

test("docs/design.md's table has a row for every folder in the repository", (t) => {
  // Folders up to three deep; the subfolders of bench/results/ (one per run) are data.
  const folders = new Set<string>();
  for (const f of files) {
    const parts = f.split('/').slice(0, -1);
    for (let depth = 1; depth <= Math.min(3, parts.length); depth++) folders.add(parts.slice(0, depth).join('/'));
  }
  const expected = [...folders].filter((d) => !/^bench\/results\/./.test(d) && !/^test\/fixtures\/./.test(d)).sort();
  const design = fs.readFileSync(path.join(root, 'docs', 'design.md'), 'utf8');
  const rows = [...design.matchAll(/^\| `([^`]+)\/` \| \S/gm)].map((m) => m[1]!);
  t.true(rows.length > 0, "docs/design.md has no '| `folder/` | its job |' rows");
  t.deepEqual(expected.filter((d) => !rows.includes(d)), [], 'folders with no row in docs/design.md');
  t.deepEqual(rows.filter((d) => !folders.has(d)), [], 'rows of docs/design.md for folders that are not in the repository');
});
