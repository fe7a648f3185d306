// Ranks' shared memory is allocated when the job starts: a /dev/shm too small for it ends the job
// at once with a line naming /dev/shm, the size needed and free, and Docker's --shm-size (not a
// SIGBUS mid-run). A 1 MiB tmpfs on /dev/shm in a mount namespace the test creates; root only.
import test from 'ava';
import { spawnSync } from 'child_process';
import * as path from 'path';
import { microSetup, root } from '../helpers/cli-run';

const { tmp, common } = microSetup('mt-shm-');

test('a /dev/shm too small for --nproc 4 fails at start in one clear line', (t) => {
  if (process.getuid?.() !== 0) return t.pass('needs root for a tmpfs in a mount namespace');
  const script = 'mount -t tmpfs -o size=1m tmpfs /dev/shm && exec "$@"';
  const r = spawnSync('unshare', ['-m', 'sh', '-c', script, 'sh', process.execPath, '--import', require.resolve('tsx'), path.join(root, 'lib', 'cli.ts'),
    'train', ...common, '--steps', '5', '--batch-size', '8', '--nproc', '4', '--out', path.join(tmp, 'run')], { encoding: 'utf8', timeout: 120000 });
  t.is(r.status, 1, r.stderr);
  t.regex(r.stderr, /\/dev\/shm has too little room for the ranks' shared memory: [\d.]+ MiB needed, [\d.]+ MiB free; enlarge \/dev\/shm \(in Docker: docker run --shm-size=\d+g \.\.\.\)/);
  t.notRegex(r.stderr, /SIGBUS|\n\s+at /);
  t.notRegex(r.stderr, /step \d+\//, 'no step ran');
});
