// Loading streams the checkpoint tensor by tensor: a sharded checkpoint loads with about one copy
// of the weights in the model's precision plus one shard in memory (bench/load-memory.ts measures
// a 2 GiB one), and loading leaves nothing behind but the parameters.
import test from 'ava';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { configOfSize, measureLoad, writeShardedCheckpoint } from '../../bench/load-memory';
import { rssUnmeasurable } from '../helpers/util';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-load-'));
test.after.always(() => fs.rmSync(dir, { recursive: true, force: true }));

test('a sharded ~250 MiB checkpoint loads within 2.25x its bf16 weights above the baseline RSS (all at once took 2.4x), leaking nothing', (t) => {
  const sizes = writeShardedCheckpoint(dir, configOfSize(100e6));
  t.true(sizes.length >= 4, `${sizes.length} shards`);
  const m = measureLoad(dir);
  const weights = m.parameters * 2;
  const above = m.peakRss - m.baselineRss;
  t.log(`weights ${(weights / 2 ** 20).toFixed(0)} MiB, largest shard ${(Math.max(...sizes) / 2 ** 20).toFixed(0)} MiB, peak above baseline ${(above / 2 ** 20).toFixed(0)} MiB`);
  // Loading everything first, as before, peaks at 2.4x the weights (586 MiB here). Streaming
  // measured 400-480 MiB (about the weights plus two shards), and 510 MiB once on a loaded
  // machine: float staging buffers wait for the garbage collector, whose timing varies. The bound
  // sits between the two.
  const why = rssUnmeasurable();
  if (why) t.log(`peak bound not checked: ${why}`);
  else t.true(above < 2.25 * weights, `peak ${above} bytes above baseline; weights ${weights}, largest shard ${Math.max(...sizes)}`);

  // Counted inside the loading process: ava runs other test files in this one.
  t.is(m.newTensors, m.parameterTensors, 'one native tensor per parameter: no views or pieces left alive');
  t.is(m.newBytes, m.parameterBytes);
});
