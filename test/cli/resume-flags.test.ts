// --resume says what it does with the other flags: those that define the run must match it, the
// others are applied and listed in one line.
import test from 'ava';
import * as path from 'path';
import { cli, metricRows, microSetup } from '../helpers/cli-run';

const { tmp, common } = microSetup('mt-resume-');
const run = path.join(tmp, 'run');
const first = cli(['train', ...common, '--steps', '6', '--stop-after', '2', '--out', run]);

test('flags that define the run are refused when they differ, naming each with the run\'s value', (t) => {
  t.is(first.status, 0, first.stderr);
  const cases: [string[], RegExp][] = [
    [['--optimizer', 'adamw'], /cannot change --optimizer adamw \(the run's: muon\)/],
    [['--config', 'small'], /cannot change --config small/],
    [['--precision', 'f32'], /cannot change --precision f32 \(the run's: bf16\)/],
    [['--batch-size', '8'], /cannot change --batch-size 8 \(the run's: 4\)/],
    [['--seq-len', '32'], /cannot change --seq-len 32 \(the run's: 16\)/],
    [['--lr', '1', '--optimizer', 'adamw', '--config', 'small'], /cannot change --config small .*, --optimizer adamw/],
  ];
  for (const [flags, re] of cases) {
    const r = cli(['train', '--resume', run, ...flags]);
    t.is(r.status, 2, flags.join(' '));
    t.regex(r.stderr, re, flags.join(' '));
    t.is(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
});

test('flags that may change are applied and listed in one line; the same values are no change', (t) => {
  t.is(first.status, 0, first.stderr);
  const r = cli(['train', '--resume', run, '--batch-size', '4', '--optimizer', 'muon', '--lr', '0.5', '--eval-every', '1', '--stop-after', '2']);
  t.is(r.status, 0, r.stderr);
  t.regex(r.stderr, /^resume: applying --lr 0\.01 -> 0\.5, --eval-every 4 -> 1$/m);
  const rows = metricRows(run);
  t.is(rows.length, 4);
  t.is(rows[2]!.lr > 0.01, true, 'the new peak lr is used');
  t.true('val_loss' in rows[2]! && 'val_loss' in rows[3]!, 'evaluation every step');
});
