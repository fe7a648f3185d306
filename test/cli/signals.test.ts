// Every usual stop keeps the work: Ctrl-C and SIGTERM (alone and under --nproc) finish the step,
// save a checkpoint and exit 128 + the signal; a closed stderr pipe does not stop training.
import test from 'ava';
import * as fs from 'fs';
import * as path from 'path';
import { cli, exited, microSetup, spawnCli, whenStderr } from '../helpers/cli-run';
import { latestCheckpoint } from '../../lib/train/checkpoint-layout';

const { tmp, common } = microSetup('mt-signals-');

for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
  for (const nproc of [1, 2]) {
    test.serial(`${signal} with --nproc ${nproc}: checkpoint, then exit ${code}; the run resumes`, async (t) => {
      const dir = path.join(tmp, `${signal}-${nproc}`);
      const child = spawnCli(['train', ...common, '--steps', '100000', '--out', dir, '--nproc', String(nproc)]);
      const done = exited(child);
      whenStderr(child, /step \d+\//, () => child.kill(signal));
      const r = await done;
      t.is(r.code, code, r.stderr);
      t.regex(r.stderr, /stopped at step \d+; checkpoint in/);
      const step = JSON.parse(fs.readFileSync(path.join(latestCheckpoint(dir)!, 'trainer.json'), 'utf8')).step;
      t.true(step >= 1);
      const resumed = cli(['train', '--resume', dir, '--steps', String(step + 1)]);
      t.is(resumed.status, 0, resumed.stderr);
    });
  }
}

test.serial('a closed stderr (train 2>&1 | head -1) does not stop training; its checkpoints are written', async (t) => {
  const dir = path.join(tmp, 'epipe');
  const child = spawnCli(['train', ...common, '--steps', '12', '--checkpoint-every', '4', '--out', dir]);
  child.stderr.once('data', () => child.stderr.destroy());
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  t.is(code, 0);
  t.is(JSON.parse(fs.readFileSync(path.join(dir, 'checkpoint', 'trainer.json'), 'utf8')).step, 12);
});
