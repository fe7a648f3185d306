// A sweep's token budget counts every micro-batch: --steps = tokens / (batch-size x grad-accum x seq-len).
import test from 'ava';
import { expandSpec } from '../../lib/sweep/spec';

test('tokens over batch-size x grad-accum x seq-len', (t) => {
  const runs = expandSpec({ base: { 'batch-size': 4, 'seq-len': 16 }, grid: [{ 'grad-accum': [1, 2, 4], tokens: 2560 }] });
  t.deepEqual(runs.map((r) => [r.flags['grad-accum'], r.flags.steps]), [[1, 40], [2, 20], [4, 10]]);
  t.throws(() => expandSpec({ base: { 'batch-size': 4, 'seq-len': 16, 'grad-accum': 3 }, grid: [{ tokens: 2560 }] }),
    { message: /tokens 2560: expected a positive multiple of batch-size x grad-accum x seq-len = 192/ });
});
