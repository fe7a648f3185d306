// ZeRO-1 with gradient accumulation: one reduce-scatter of the gradients per optimizer step, after
// the last micro-batch (the bytes of a step do not grow with the micro-batches), and the same losses.
import test from 'ava';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { launch } from '../../lib/parallel/launch';

const root = path.join(__dirname, '..', '..');

test('2 ranks: the collectives of a step are the same bytes with 1, 2 and 4 micro-batches', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-accum-'));
  const got: Record<number, { bytes: Record<string, number>; loss: number }[]> = {};
  for (const N of [1, 2, 4]) {
    const out = path.join(dir, `${N}.json`);
    t.is(await launch({ nproc: 2, argv: ['--import=tsx', path.join(root, 'test', 'helpers', 'accum-worker.ts'), out, String(N)] }), 0);
    got[N] = JSON.parse(fs.readFileSync(out, 'utf8'));
  }
  fs.rmSync(dir, { recursive: true, force: true });
  for (const N of [2, 4])
    got[N]!.forEach((step, s) => {
      t.true(step.bytes.reduceScatter > 0);
      t.deepEqual(step.bytes, got[1]![s]!.bytes, `step ${s} with ${N} micro-batches`);
      t.true(Math.abs(step.loss - got[1]![s]!.loss) < 1e-6 * got[1]![s]!.loss, `step ${s} loss ${step.loss} vs ${got[1]![s]!.loss}`);
    });
});
