// The op list as written in native/op_list.h, read from its text (for tests that check what is
// generated from it).
import * as fs from 'node:fs';
import * as path from 'node:path';

export const repoRoot = path.join(__dirname, '..', '..');

/** The JS names and backend flags of native/op_list.h. */
export function listFromHeader(): { name: string; cpu: boolean; cuda: boolean }[] {
  const text = fs.readFileSync(path.join(repoRoot, 'native', 'op_list.h'), 'utf8');
  const start = text.indexOf('#define MT_OP_LIST(X)');
  const body = text.slice(start, text.indexOf('\n\n', start));
  const entries = body.split(/\bX\(/).slice(1);
  return entries.map((e) => {
    const name = /^\s*\w+,\s*"(\w+)"/.exec(e)?.[1];
    const flags = /,\s*([01]),\s*([01])\)[\s\\]*$/.exec(e);
    if (!name || !flags) throw new Error(`op_list.h: cannot read entry ${e.slice(0, 60)}`);
    return { name, cpu: flags[1] === '1', cuda: flags[2] === '1' };
  });
}
