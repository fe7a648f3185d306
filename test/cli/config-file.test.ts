// A run's settings in one file: --config-file with the command line overriding it, errors naming
// the key and the file, run.json written into the run folder (and usable as a --config-file),
// --resume reading it, and `moontrain info --run` showing it with the run's status.
import test from 'ava';
import * as fs from 'fs';
import * as path from 'path';
import { cli, metricRows, microSetup, stableRows } from '../helpers/cli-run';

const { tmp, config, data } = microSetup('mt-config-file-');
const settings = {
  config, data, 'batch-size': 4, 'seq-len': 16, 'eval-every': 2, 'eval-batches': '2', warmup: 2, lr: 0.01, steps: 5, seed: 3,
};
const file = path.join(tmp, 'settings.json');
fs.writeFileSync(file, JSON.stringify(settings));

test('settings come from the file, flags on the command line override them; run.json holds the resolved settings', (t) => {
  const out = path.join(tmp, 'from-file');
  const r = cli(['train', '--config-file', file, '--steps', '4', '--out', out]);
  t.is(r.status, 0, r.stderr);
  t.is(metricRows(out).length, 4, '--steps on the command line wins over the file\'s 5');
  const run = JSON.parse(fs.readFileSync(path.join(out, 'run.json'), 'utf8')) as Record<string, unknown>;
  t.like(run, { steps: 4, seed: 3, 'batch-size': 4, lr: 0.01, 'eval-batches': '2', data: path.resolve(data), config: path.resolve(config), out: path.resolve(out), optimizer: 'muon' });
  for (const k of ['resume', 'stop-after', 'overwrite', 'config-file']) t.false(k in run, k);
  // the same run from flags alone: the same losses
  const flags = cli(['train', '--config', config, '--data', data, '--batch-size', '4', '--seq-len', '16', '--eval-every', '2', '--eval-batches', '2', '--warmup', '2', '--lr', '0.01', '--steps', '4', '--seed', '3', '--out', path.join(tmp, 'from-flags')]);
  t.is(flags.status, 0, flags.stderr);
  t.deepEqual(stableRows(out), stableRows(path.join(tmp, 'from-flags')));
  // run.json is itself a --config-file: the run again, elsewhere
  const again = cli(['train', '--config-file', path.join(out, 'run.json'), '--out', path.join(tmp, 'again')]);
  t.is(again.status, 0, again.stderr);
  t.deepEqual(stableRows(path.join(tmp, 'again')), stableRows(out));
  // ...but not into the folder it came from: that run is never overwritten unasked
  const same = cli(['train', '--config-file', path.join(out, 'run.json')]);
  t.is(same.status, 2, same.stderr);
  t.regex(same.stderr, /already holds a run/);
});

test('a .toml file with the same keys gives the same run as the JSON file; a TOML table or syntax error is one line', (t) => {
  const toml = path.join(tmp, 'settings.toml');
  fs.writeFileSync(toml, Object.entries({ ...settings, steps: 3 }).map(([k, v]) => `${k} = ${JSON.stringify(v)}`).join('\n') + '\n');
  const a = cli(['train', '--config-file', toml, '--out', path.join(tmp, 'toml')]);
  t.is(a.status, 0, a.stderr);
  const b = cli(['train', '--config-file', file, '--steps', '3', '--out', path.join(tmp, 'toml-json')]);
  t.is(b.status, 0, b.stderr);
  t.deepEqual(stableRows(path.join(tmp, 'toml')), stableRows(path.join(tmp, 'toml-json')));
  for (const [body, re] of [
    ['steps = { n = 3 }\n', /settings-bad\.toml: 'steps': expected a number, got \{"n":3\}/],
    ['steps = = 3\n', /settings-bad\.toml: not valid TOML: /],
  ] as const) {
    const bad = path.join(tmp, 'settings-bad.toml');
    fs.writeFileSync(bad, body);
    const r = cli(['train', '--config-file', bad, '--out', path.join(tmp, 'never')]);
    t.is(r.status, 2, r.stderr);
    t.regex(r.stderr, re);
    t.is(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
});

test('an unknown key, a value of the wrong kind, bad JSON and a missing file: one line naming the key and the file', (t) => {
  const bad = (name: string, body: string) => {
    const f = path.join(tmp, name);
    fs.writeFileSync(f, body);
    return f;
  };
  const cases: [string, RegExp][] = [
    [bad('unknown.json', JSON.stringify({ ...settings, 'batch_size': 4 })), /--config-file .*unknown\.json: unknown key 'batch_size' \(expected flag names of moontrain train: .*batch-size/],
    [bad('type.json', JSON.stringify({ steps: 'many' })), /--config-file .*type\.json: 'steps': expected an integer >= 1, got 'many'/],
    [bad('array.json', JSON.stringify({ steps: [1] })), /--config-file .*array\.json: 'steps': expected a number, got \[1\]/],
    [bad('bool.json', JSON.stringify({ overwrite: 'yes' })), /--config-file .*bool\.json: 'overwrite': expected true or false, got "yes"/],
    [bad('choice.json', JSON.stringify({ optimizer: 'sgd' })), /--config-file .*choice\.json: 'optimizer': expected one of muon, adamw, got 'sgd'/],
    [bad('list.json', '[1, 2]'), /--config-file .*list\.json: expected an object of settings .*got an array/],
    [bad('broken.json', '{ "steps": 4,'), /--config-file .*broken\.json: not valid JSON/],
    [path.join(tmp, 'missing.json'), /--config-file .*missing\.json: cannot read it \(ENOENT\)/],
  ];
  for (const [f, re] of cases) {
    const out = path.join(tmp, 'never');
    const r = cli(['train', '--config-file', f, '--out', out]);
    t.is(r.status, 2, `${f}: ${r.stderr}`);
    t.regex(r.stderr, re);
    t.is(r.stderr.trim().split('\n').length, 1, r.stderr);
    t.false(fs.existsSync(out));
  }
});

test('--resume reads run.json: no flag repeated, an edited setting applied and named, a setting that defines the run refused', (t) => {
  const out = path.join(tmp, 'resumed');
  const a = cli(['train', '--config-file', file, '--stop-after', '2', '--out', out]);
  t.is(a.status, 0, a.stderr);
  const runJson = path.join(out, 'run.json');
  const saved = JSON.parse(fs.readFileSync(runJson, 'utf8')) as Record<string, unknown>;
  fs.writeFileSync(runJson, JSON.stringify({ ...saved, steps: 6, 'eval-every': 3 }));
  const b = cli(['train', '--resume', out, '--stop-after', '2']);
  t.is(b.status, 0, b.stderr);
  t.regex(b.stderr, /^resume: applying --steps 5 -> 6 \(run\.json\), --eval-every 2 -> 3 \(run\.json\)$/m);
  t.like(JSON.parse(fs.readFileSync(runJson, 'utf8')), { steps: 6, 'eval-every': 3 });
  // the command line still wins over run.json
  fs.writeFileSync(runJson, JSON.stringify({ ...saved, steps: 6, seed: 99 }));
  const c = cli(['train', '--resume', out]);
  t.is(c.status, 2, c.stderr);
  t.regex(c.stderr, /cannot change --seed 99 \(run\.json\) \(the run's: 3\)/);
  const d = cli(['train', '--resume', out, '--seed', '3']);
  t.is(d.status, 0, d.stderr);
  t.is(metricRows(out).length, 6);
});

test('info --run shows the settings and where the run stands; --json for scripts', (t) => {
  const out = path.join(tmp, 'info');
  const a = cli(['train', '--config-file', file, '--stop-after', '3', '--checkpoint-every', '2', '--out', out]);
  t.is(a.status, 0, a.stderr);
  const r = cli(['info', '--run', out, '--json']);
  t.is(r.status, 0, r.stderr);
  const s = JSON.parse(r.stdout) as Record<string, unknown>;
  const rows = metricRows(out);
  const lastVal = [...rows].reverse().find((x) => x.val_loss !== undefined)!;
  t.like(s, { run: path.resolve(out), steps_done: 3, checkpoint: path.join(path.resolve(out), 'checkpoint-3'), checkpoint_step: 3, val_loss: lastVal.val_loss, val_loss_after: lastVal.step! + 1, running: null });
  t.like(s.settings as object, { steps: 5, seed: 3, 'checkpoint-every': 2 });
  const text = cli(['info', '--run', out]);
  t.is(text.status, 0, text.stderr);
  t.regex(text.stdout, new RegExp(`^step 3/5; checkpoint .*checkpoint-3 \\(step 3\\); validation loss ${lastVal.val_loss!.toFixed(4)} at step 2$`, 'm'));
  t.regex(text.stdout, /^ {2}seed +3$/m);
  const none = cli(['info', '--run', tmp]);
  t.is(none.status, 2, none.stderr);
  t.regex(none.stderr, /--run .*: no run there \(no run\.json, checkpoint or metrics\.jsonl\)/);
});
