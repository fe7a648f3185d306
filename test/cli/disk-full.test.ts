// A full disk during a checkpoint: the partial checkpoint is removed, the line says which one was
// kept, and training goes on (a small tmpfs in a mount namespace the test creates; root only).
import test from 'ava';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { microSetup, root } from '../helpers/cli-run';

const { tmp, common } = microSetup('mt-full-');

test('ENOSPC during a checkpoint keeps the last one, removes the partial one and trains on', (t) => {
  if (process.getuid?.() !== 0) return t.pass('needs root for a tmpfs in a mount namespace');
  const mnt = path.join(tmp, 'small');
  fs.mkdirSync(mnt);
  // A checkpoint of the micro model is ~450 KB: two fit in 1100 KB, the third does not.
  const script = `mount -t tmpfs -o size=1100k tmpfs "$0" && exec "$@"`;
  const r = spawnSync('unshare', ['-m', 'sh', '-c', script, mnt, process.execPath, '--import', require.resolve('tsx'), path.join(root, 'lib', 'cli.ts'),
    'train', ...common, '--steps', '5', '--checkpoint-every', '1', '--keep-checkpoints', '0', '--eval-every', '100', '--out', path.join(mnt, 'run')], { encoding: 'utf8' });
  t.regex(r.stderr, /the checkpoint at step 3 could not be written \(ENOSPC: no space left on the device of .*\); kept .*\/checkpoint-2; training goes on/);
  t.regex(r.stderr, /step 5\/5/, 'training went on after the failed checkpoint');
  // The final checkpoint does not fit either: one line saying which was kept, exit 1.
  t.is(r.status, 1);
  t.regex(r.stderr.trim().split('\n').pop()!, /the checkpoint at step 5 could not be written .*; kept .*\/checkpoint-2$/);
  t.notRegex(r.stderr, /\n\s+at /);
  t.notRegex(r.stderr, /\.tmp-/, 'no partial checkpoint named');
});
