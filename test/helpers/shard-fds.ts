// Opens the shard set PATTERN 300 times without closing it and prints this process's descriptors
// open on files of PATTERN's folder before, after, and after garbage collection (run with
// --expose-gc). Only those: the runtime's own descriptors come and go on their own.
import * as fs from 'fs';
import * as path from 'path';
import { ShardSet } from '../../lib/data';

const folder = fs.realpathSync(path.dirname(process.argv[2]!)) + path.sep;
const target = (fd: string) => {
  try {
    return fs.readlinkSync(`/proc/self/fd/${fd}`);
  } catch {
    return '';  // closed since the listing (the listing's own descriptor, for one)
  }
};
const count = () => fs.readdirSync('/proc/self/fd').filter((fd) => target(fd).startsWith(folder)).length;
const gc = (globalThis as { gc?: () => void }).gc!;
(async () => {
  const before = count();
  for (let i = 0; i < 300; i++) ShardSet.open(process.argv[2]!).read(0, 10, new Int32Array(10), 0);
  const open = count();
  for (let i = 0; i < 10 && count() > before; i++) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const closed = ShardSet.open(process.argv[2]!);
  closed.close();
  console.log(JSON.stringify({ before, open, collected: count() }));
})();
