// The README is the user's manual: its examples are the files CI runs, and it documents every
// command-line flag.
import test from 'ava';
import * as fs from 'fs';
import * as path from 'path';
import { evalFlags } from '../lib/cli/eval';
import { infoFlags } from '../lib/cli/info';
import { sampleFlags } from '../lib/cli/sample';
import { trainFlags } from '../lib/cli/train';

const root = path.join(__dirname, '..');
const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');

for (const example of ['api.mjs', 'zero.mjs']) {
  test(`README shows examples/${example} verbatim`, (t) => {
    const code = fs.readFileSync(path.join(root, 'examples', example), 'utf8');
    t.true(readme.includes('```js\n' + code + '```'), `README.md must contain examples/${example} as a js block`);
  });
}

const commands = { train: trainFlags, eval: evalFlags, sample: sampleFlags, info: infoFlags };
for (const [command, flags] of Object.entries(commands)) {
  test(`README documents every flag of moontrain ${command}`, (t) => {
    const missing = Object.keys(flags).filter((f) => !readme.includes(`--${f}`));
    t.deepEqual(missing, [], `flags of '${command}' missing from README.md`);
  });
}

test('README names every bench kind', (t) => {
  for (const kind of ['gemm', 'grouped', 'ns', 'step', 'allgather', 'reducescatter']) t.true(readme.includes(kind), kind);
});

test('the install message names the same libstdc++ (GCC) floor as the README', (t) => {
  const install = fs.readFileSync(path.join(root, 'scripts', 'install.js'), 'utf8');
  const floor = (text: string) => /libstdc\+\+ from GCC\s+(?:≥|>=)\s*(\d+)/.exec(text)?.[1];
  t.truthy(floor(readme));
  t.is(floor(install), floor(readme));
});
