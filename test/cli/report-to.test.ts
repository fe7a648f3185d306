// --report-to: TensorBoard event files beside metrics.jsonl holding the same numbers (every
// record's CRCs checked, every scalar of every row read back), TensorBoard's own reader where a
// Python tensorboard package is present; W&B and MLflow named in one line when not installed.
import test from 'ava';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { cli, metricRows, microSetup, root } from '../helpers/cli-run';
import { noTensorBoard, readRecords, readScalars } from '../helpers/tfevents';

const { tmp, common } = microSetup('mt-report-');

test('--report-to tensorboard: every metrics.jsonl number, at its step, in the event file', (t) => {
  const out = path.join(tmp, 'tb');
  const r = cli(['train', ...common, '--steps', '6', '--eval-every', '3', '--report-to', 'tensorboard', '--out', out]);
  t.is(r.status, 0, r.stderr);
  const files = fs.readdirSync(out).filter((n) => n.startsWith('events.out.tfevents.'));
  t.is(files.length, 1);
  const file = path.join(out, files[0]!);
  t.notThrows(() => readRecords(file), 'every length and data CRC');
  const events = readScalars(file), rows = metricRows(out);
  t.deepEqual(events.map((e) => e.step), rows.map((row) => row.step));
  rows.forEach((row, i) => {
    const { step: _, ...numbers } = row;
    t.deepEqual(events[i]!.scalars, Object.fromEntries(Object.entries(numbers).map(([k, v]) => [k, Math.fround(v)])), `step ${row.step}`);
  });
  for (const tag of ['loss', 'lr', 'grad_norm', 'tokens_per_s', 'mfu', 'step_time_s', 'peak_rss_mib', 'moe/load_max_over_mean', 'moe/load_cv',
    'moe/layer1/load_max_over_mean', 'moe/layer1/load_min_over_mean', 'moe/layer1/load_cv', 'moe/layer1/experts_idle', 'moe/layer1/router_bias_norm'])
    t.true(tag in events[0]!.scalars, tag);
  t.true('val_loss' in events[2]!.scalars && 'val_loss' in events[5]!.scalars);
  const why = noTensorBoard(process.env.MOONTRAIN_PYTHON ?? 'python3');
  if (why) return t.log(`TensorBoard's reader skipped: ${why}`);
  const read = execFileSync(process.env.MOONTRAIN_PYTHON ?? 'python3', ['-c', `
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
import json
a = EventAccumulator(${JSON.stringify(out)}); a.Reload()
print(json.dumps({tag: [[e.step, e.value] for e in a.Scalars(tag)] for tag in ['loss', 'val_loss', 'mfu']}))`], { encoding: 'utf8' });
  const got = JSON.parse(read);
  for (const tag of ['loss', 'val_loss', 'mfu'])
    t.deepEqual(got[tag], rows.filter((row) => tag in row).map((row) => [row.step, Math.fround(row[tag]!)]), tag);
});

for (const [target, pkg] of [['wandb', '@wandb/sdk'], ['mlflow', 'mlflow']] as const) {
  let installed = false;
  try {
    require.resolve(pkg, { paths: [root] });
    installed = true;
  } catch {
    // the case this test is for
  }
  (installed ? test.skip : test)(`--report-to ${target} without ${pkg}: one line naming the package, nothing written`, (t) => {
    const out = path.join(tmp, `no-${target}`);
    const r = cli(['train', ...common, '--steps', '2', '--report-to', `tensorboard,${target}`, '--out', out]);
    t.is(r.status, 2);
    t.is(r.stderr.trim(), `moontrain train: --report-to ${target} needs the npm package ${pkg}, which is not installed: npm install ${pkg}`);
    t.false(fs.existsSync(out));
  });
  if (installed) test(`--report-to ${target} (skipped)`, (t) => (t.log(`skipped: ${pkg} is installed`), t.pass()));
}

test('--report-to names its choices', (t) => {
  const r = cli(['train', ...common, '--report-to', 'tensorboard,comet', '--out', path.join(tmp, 'bad')]);
  t.is(r.status, 2);
  t.regex(r.stderr, /--report-to: expected a comma-separated list of tensorboard, wandb, mlflow \(or none\), got 'comet'/);
});
