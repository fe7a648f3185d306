// --grad-accum from the command line: the f32 trace of --batch-size 16 is that of --batch-size 8
// --grad-accum 2 (the same rows in each step, one update), in one process and under --nproc 2
// (ZeRO-1: one reduce-scatter per optimizer step); checkpoints record it and --resume keeps it.
import test from 'ava';
import * as fs from 'fs';
import * as path from 'path';
import { cli, metricRows, microSetup, stableRows } from '../helpers/cli-run';

const { tmp, common } = microSetup('mt-accum-');
const f32 = [...common, '--precision', 'f32', '--steps', '5', '--eval-every', '5'];
const rel = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);

test('--batch-size 16 equals --batch-size 8 --grad-accum 2 (f32), in one process and under --nproc 2', (t) => {
  const traces: Record<string, Record<string, number>[]> = {};
  for (const nproc of [1, 2])
    for (const [name, flags] of [['big', ['--batch-size', '16']], ['acc', ['--batch-size', '8', '--grad-accum', '2']]] as const) {
      const out = path.join(tmp, `${name}-${nproc}`);
      const r = cli(['train', ...f32, ...flags, '--nproc', String(nproc), '--out', out]);
      t.is(r.status, 0, r.stderr);
      if (name === 'acc') t.regex(r.stderr, /done: 5 steps, 1,280 tokens/);
      traces[`${name}-${nproc}`] = metricRows(out);
    }
  const compare = (x: string, y: string, tol: number) => {
    const a = traces[y]!, b = traces[x]!;
    t.is(b.length, 5);
    t.log(`${x} vs ${y}: largest relative difference ${Math.max(...b.flatMap((r, s) => ['loss', 'grad_norm', 'aux_loss'].map((k) => rel(r[k]!, a[s]![k]!)))).toExponential(1)}`);
    b.forEach((r, s) => {
      for (const k of ['loss', 'grad_norm', 'aux_loss'])
        t.true(rel(r[k]!, a[s]![k]!) < tol, `${x} vs ${y}, step ${s} ${k}: ${r[k]} vs ${a[s]![k]}`);
      t.is(r.tokens, a[s]!.tokens, 'tokens count every micro-batch');
    });
    t.true(rel(b[4]!.val_loss!, a[4]!.val_loss!) < tol, `${x} vs ${y}: validation loss`);
  };
  compare('acc-1', 'big-1', 1e-6);
  compare('acc-2', 'big-2', 1e-6);
  // And the ranks' step is the one process's (the mean gradient, not a rank's share of it).
  compare('acc-2', 'big-1', 1e-6);
});

test('checkpoints record --grad-accum; --resume keeps it and refuses another', (t) => {
  const full = path.join(tmp, 'full'), part = path.join(tmp, 'part');
  const args = [...common, '--steps', '6', '--batch-size', '4', '--grad-accum', '3'];
  t.is(cli(['train', ...args, '--out', full]).status, 0);
  t.is(cli(['train', ...args, '--stop-after', '3', '--out', part]).status, 0);
  const state = JSON.parse(fs.readFileSync(path.join(part, 'checkpoint', 'trainer.json'), 'utf8'));
  t.is(state.grad_accum, 3);
  t.is(state.args['grad-accum'], 3);
  const refused = cli(['train', '--resume', part, '--grad-accum', '2']);
  t.is(refused.status, 2);
  t.regex(refused.stderr, /cannot change --grad-accum 2 \(the run's: 3\)/);
  const resumed = cli(['train', '--resume', part]);
  t.is(resumed.status, 0, resumed.stderr);
  t.deepEqual(stableRows(part), stableRows(full));
  t.is(metricRows(part)[5]!.tokens, 6 * 3 * 4 * 16);
});
