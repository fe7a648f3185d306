// Every op marked cuda in the op list (native/op_list.h) has an op test that runs on the GPU: an
// op test names its ops in devicesFor([...]) (test/helpers/devices.ts) and then runs once per
// device whose backend has them all, so turning an op's cuda flag on runs its test on 'cuda'
// (the emulated build in npm test, scripts/ci/test-cuda-emu.js). An op marked cuda that no
// devicesFor list names fails here rather than going untested.
import * as fs from 'node:fs';
import * as path from 'node:path';
import test from 'ava';
import { listFromHeader, repoRoot } from '../helpers/op-list-header';

const TEST_DIRS = ['test/ops', 'test/nn-ops'];

/** Each devicesFor call of the op tests: the file and the op names of its literal list (null when not literal). */
function devicesForCalls(): { file: string; ops: string[] | null }[] {
  const calls: { file: string; ops: string[] | null }[] = [];
  for (const dir of TEST_DIRS) {
    for (const f of fs.readdirSync(path.join(repoRoot, dir), { recursive: true, encoding: 'utf8' })) {
      if (!f.endsWith('.test.ts')) continue;
      const file = `${dir}/${f}`;
      const text = fs.readFileSync(path.join(repoRoot, file), 'utf8');
      for (const m of text.matchAll(/\bdevicesFor\(\s*(\[[^\]]*\])?/g)) {
        calls.push({ file, ops: m[1] ? [...m[1].matchAll(/'(\w+)'/g)].map((q) => q[1]) : null });
      }
    }
  }
  return calls;
}

test('every op marked cuda in the op list has an op test that runs on cuda (devicesFor)', (t) => {
  const header = listFromHeader();
  const names = new Set(header.map((e) => e.name));
  const calls = devicesForCalls();
  t.true(calls.length > 10, `found only ${calls.length} devicesFor calls in ${TEST_DIRS.join(', ')}`);
  for (const c of calls) {
    t.not(c.ops, null, `${c.file}: devicesFor takes a literal list of op names (this test reads it)`);
    for (const op of c.ops ?? []) t.true(names.has(op), `${c.file}: devicesFor names '${op}', which is not an op of native/op_list.h`);
  }
  const tested = new Set(calls.flatMap((c) => c.ops ?? []));
  const missing = header.filter((e) => e.cuda && !tested.has(e.name)).map((e) => e.name);
  t.deepEqual(missing, [], `ops marked cuda in native/op_list.h whose op tests do not run on cuda: name them in a devicesFor list of their test`);
});
