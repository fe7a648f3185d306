// The op list (native/op_list.h) is the one place an op is declared: the addon's bindings, the
// JS `ops`, info().ops and the Ops interface of types/core.d.ts must all name the same ops.
import * as fs from 'node:fs';
import * as path from 'node:path';
import test from 'ava';
import { info, ops } from '../../lib';
import { native } from '../../lib/native';
import { listFromHeader, repoRoot as root } from '../helpers/op-list-header';

/** The member names of `export interface Ops` in types/core.d.ts. */
function opsInterfaceMembers(): string[] {
  const text = fs.readFileSync(path.join(root, 'types', 'core.d.ts'), 'utf8');
  const start = text.indexOf('export interface Ops {');
  const end = text.indexOf('\n}', start);
  return [...text.slice(start, end).matchAll(/^ {2}(\w+)\(/gm)].map((m) => m[1]);
}

test('the op list, the bindings, ops, info().ops and types/core.d.ts name the same ops', (t) => {
  const header = listFromHeader().map((e) => e.name);
  t.true(header.length > 30);
  t.deepEqual(new Set(header).size, header.length, 'no op is listed twice');
  t.deepEqual(native.opList().map((e) => e.name), header);
  t.deepEqual(info().ops.map((e) => e.name), header);
  t.deepEqual(Object.keys(ops).filter((k) => k !== 'supports'), header);
  t.deepEqual([...opsInterfaceMembers()].sort(), [...header].sort());
  for (const name of header) {
    t.is(typeof (native as unknown as Record<string, unknown>)[name], 'function', `the addon exports ${name}`);
    t.is(typeof (ops as unknown as Record<string, unknown>)[name], 'function', `ops.${name}`);
  }
});

test('info().ops and ops.supports give each op the backends of the list that this build has', (t) => {
  const cudaCompiled = info().cuda.compiled;
  for (const e of listFromHeader()) {
    const expected = [...(e.cpu ? ['cpu'] : []), ...(e.cuda && cudaCompiled ? ['cuda'] : [])];
    t.deepEqual(info().ops.find((o) => o.name === e.name)?.backends, expected, e.name);
    t.is(ops.supports(e.name as keyof typeof ops & string as never, 'cpu'), e.cpu, e.name);
    t.is(ops.supports(e.name as never, 'cuda'), e.cuda && cudaCompiled, e.name);
  }
});

test('ops.supports rejects an unknown op or device by name', (t) => {
  t.throws(() => ops.supports('matmull' as never, 'cpu'), { message: /expected the name of an op .*got "matmull"/ });
  t.throws(() => ops.supports('matmul', 'tpu' as never), { message: /expected device 'cpu' or 'cuda', got "tpu"/ });
});

test('the backends include the neutral headers and never each other', (t) => {
  const includes = (dir: string) =>
    fs.readdirSync(path.join(root, 'native', dir), { recursive: true, encoding: 'utf8' })
      .filter((f) => /\.(h|cc|cu|cuh)$/.test(f))
      .flatMap((f) => [...fs.readFileSync(path.join(root, 'native', dir, f), 'utf8').matchAll(/#include "([^"]+)"/g)].map((m) => `${dir}/${f}: ${m[1]}`));
  t.deepEqual(includes('cpu').filter((i) => /cuda\//.test(i)), []);
  t.deepEqual(includes('cuda').filter((i) => /cpu\//.test(i)), []);
});
