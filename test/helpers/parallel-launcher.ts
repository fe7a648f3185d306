// A launcher process for the SIGINT / orphan tests: launch(nproc) of idle ranks that report to
// <dir>; exits with launch()'s code.
import * as path from 'path';
import { launch } from '../../lib/parallel/launch';

const [nproc, dir] = process.argv.slice(2);
launch({
  nproc: Number(nproc),
  argv: ['--import=tsx', path.join(__dirname, 'parallel-worker.ts')],
  env: { DIST_SCENARIO: 'idle', DIST_OUT: dir },
}).then((code) => process.exit(code));
