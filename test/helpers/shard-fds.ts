// Opens the shard set PATTERN 300 times without closing it and prints the open descriptors of this
// process before, after, and after garbage collection (run with --expose-gc).
import * as fs from 'fs';
import { ShardSet } from '../../lib/data';

const count = () => fs.readdirSync('/proc/self/fd').length;
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
