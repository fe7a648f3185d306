// The docs are the user's manual: their examples are the files CI runs, and docs/cli.md documents
// every command-line flag.
import test from 'ava';
import * as fs from 'fs';
import * as path from 'path';
import { evalFlags } from '../lib/cli/eval';
import { infoFlags } from '../lib/cli/info';
import { sampleFlags } from '../lib/cli/sample';
import { tokenizeFlags } from '../lib/cli/tokenize';
import { sweepFlags } from '../lib/cli/sweep';
import { trainFlags } from '../lib/cli/train';

const root = path.join(__dirname, '..');
const docsDir = path.join(root, 'docs');
const docs = new Map(fs.readdirSync(docsDir).filter((f) => f.endsWith('.md')).map((f) => [`docs/${f}`, fs.readFileSync(path.join(docsDir, f), 'utf8')]));
docs.set('README.md', fs.readFileSync(path.join(root, 'README.md'), 'utf8'));
const cli = docs.get('docs/cli.md')!;
const examples = fs.readdirSync(path.join(root, 'examples')).map((f) => fs.readFileSync(path.join(root, 'examples', f), 'utf8'));

for (const [example, doc] of [['api.mjs', 'docs/api.md'], ['zero.mjs', 'docs/parallel.md']]) {
  test(`${doc} shows examples/${example} verbatim`, (t) => {
    const code = fs.readFileSync(path.join(root, 'examples', example), 'utf8');
    t.true(docs.get(doc)!.includes('```js\n' + code + '```'), `${doc} must contain examples/${example} as a js block`);
  });
}

test('every js block in the docs is a file of examples/', (t) => {
  for (const [name, text] of docs) {
    for (const block of text.matchAll(/```js\n([\s\S]*?)```/g)) t.true(examples.includes(block[1]), `${name}: a js block that is not a file of examples/`);
  }
});

const commands = { train: trainFlags, eval: evalFlags, sample: sampleFlags, info: infoFlags, tokenize: tokenizeFlags, sweep: sweepFlags };
for (const [command, flags] of Object.entries(commands)) {
  test(`docs/cli.md documents every flag of moontrain ${command}`, (t) => {
    const missing = Object.keys(flags).filter((f) => !cli.includes(`--${f}`));
    t.deepEqual(missing, [], `flags of '${command}' missing from docs/cli.md`);
  });
}

test('docs/cli.md names every bench kind', (t) => {
  for (const kind of ['gemm', 'grouped', 'ns', 'step', 'allgather', 'reducescatter']) t.true(cli.includes(`bench ${kind}`) || cli.includes(`|${kind}`), kind);
});

test('no document links to a file that is not in the repository', (t) => {
  for (const [name, text] of docs) {
    for (const link of text.matchAll(/\]\(([^)#]+)(#[^)]*)?\)/g)) {
      if (/^https?:/.test(link[1])) continue;
      t.true(fs.existsSync(path.join(root, path.dirname(name), link[1])), `${name} links to ${link[1]}`);
    }
  }
});

test('no source or document names a path of a particular machine', (t) => {
  const machinePath = new RegExp(['/work', '/home', '/root'].map((p) => `${p}/`).join('|'));
  const walk = (dir: string): string[] =>
    fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]));
  const files = ['README.md', path.join('.ci', 'run')].map((f) => path.join(root, f));
  for (const dir of ['bench', 'docs', 'examples', 'lib', 'native', 'scripts', 'test', 'types']) files.push(...walk(path.join(root, dir)));
  const found = files.filter((f) => !/\.(svg|node)$/.test(f) && machinePath.test(fs.readFileSync(f, 'utf8'))).map((f) => path.relative(root, f));
  t.deepEqual(found, []);
});

test('the install message names the same libstdc++ (GCC) floor as docs/design.md', (t) => {
  const install = fs.readFileSync(path.join(root, 'scripts', 'install.js'), 'utf8');
  const floor = (text: string) => /libstdc\+\+ from GCC\s+(?:≥|>=)\s*(\d+)/.exec(text)?.[1];
  t.truthy(floor(docs.get('docs/design.md')!));
  t.is(floor(install), floor(docs.get('docs/design.md')!));
});
