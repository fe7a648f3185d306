// Training and evaluation on globs of token shards as a user runs them: shards written by
// `moontrain tokenize`, a run stopped and resumed with identical losses, the errors (a glob that
// matches nothing, mixed vocabularies) in one line, and memory that stays far below the corpus size.
import test from 'ava';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { BpeTokenizer, brownSplits, writeLlmcTokenFile } from '../../lib/data';
import { cli, root, stableRows } from '../helpers/cli-run';
import { microConfig } from '../helpers/micro-run';
import { rssUnmeasurable } from '../helpers/util';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-shard-data-'));
test.after.always(() => fs.rmSync(tmp, { recursive: true, force: true }));
const config = path.join(tmp, 'config.json');
fs.writeFileSync(config, JSON.stringify(microConfig));
const common = ['--config', config, '--batch-size', '4', '--seq-len', '16', '--eval-every', '2', '--eval-batches', '2', '--warmup', '2', '--lr', '0.01'];

// Shards as `moontrain tokenize` writes them (once, shared by the tests that train on them).
const text = brownSplits().test.slice(0, 60_000);
fs.writeFileSync(path.join(tmp, 'in.txt'), text);
BpeTokenizer.train(text, { vocabSize: 300 }).save(path.join(tmp, 'tok.json'));
const shards = path.join(tmp, 'shards');
const tokenized = cli(['tokenize', path.join(tmp, 'in.txt'), '--out', shards, '--tokenizer', path.join(tmp, 'tok.json'), '--shard-tokens', '4000', '--val-tokens', '2000']);
const trainGlob = path.join(shards, 'train_*.bin'), valGlob = path.join(shards, 'val_*.bin');

test('train on tokenize\'s shards: stopped and resumed without repeating a flag, the losses equal those of one run; eval reads the same shards', (t) => {
  t.is(tokenized.status, 0, tokenized.stderr);
  t.true(fs.readdirSync(shards).filter((f) => f.startsWith('train_')).length >= 3, 'several train shards');
  const straight = path.join(tmp, 'straight'), split = path.join(tmp, 'split');
  const a = cli(['train', ...common, '--data', trainGlob, '--val-data', valGlob, '--steps', '6', '--out', straight]);
  t.is(a.status, 0, a.stderr);
  t.regex(a.stderr, /data: token shards .*train_\*\.bin \(\d+ files, uint16, read lazily\), val .*val_\*\.bin \(1 files\)/);
  const b1 = cli(['train', ...common, '--data', trainGlob, '--val-data', valGlob, '--steps', '6', '--stop-after', '3', '--out', split]);
  t.is(b1.status, 0, b1.stderr);
  const b2 = cli(['train', '--resume', split]);
  t.is(b2.status, 0, b2.stderr);
  t.deepEqual(stableRows(split), stableRows(straight));
  t.is(stableRows(straight).length, 6);
  const e = cli(['eval', '--checkpoint', straight, '--json']);
  t.is(e.status, 0, e.stderr);
  const r = JSON.parse(e.stdout) as { loss: number; tokens: number };
  // the val shard's 2000 tokens in disjoint windows of 16
  t.is(r.tokens, Math.floor(1999 / 16) * 16);
  t.true(Number.isFinite(r.loss));
  const other = cli(['eval', '--checkpoint', straight, '--val-data', path.join(shards, 'train_000000.bin'), '--json']);
  t.is(other.status, 0, other.stderr);
  t.is((JSON.parse(other.stdout) as { tokens: number }).tokens, Math.floor(3999 / 16) * 16);
});

test('a shard rewritten since the run is refused at resume, naming the pattern', (t) => {
  t.is(tokenized.status, 0, tokenized.stderr);
  const copy = path.join(tmp, 'copy');
  fs.cpSync(shards, copy, { recursive: true });
  const run = path.join(tmp, 'changed');
  const a = cli(['train', ...common, '--data', path.join(copy, 'train_*.bin'), '--steps', '4', '--stop-after', '2', '--out', run]);
  t.is(a.status, 0, a.stderr);
  fs.copyFileSync(path.join(copy, 'train_000001.bin'), path.join(copy, 'train_000099.bin'));
  const b = cli(['train', '--resume', run]);
  t.is(b.status, 1, b.stderr);
  t.regex(b.stderr.trim(), /^moontrain train --resume: the data .*copy\/train_\*\.bin changed since the run trained on it: it was \d+ files, .*, it is now \d+ files/);
});

test('a glob that matches nothing and shards of mixed vocabularies are one line each; nothing is written', (t) => {
  const none = path.join(tmp, 'nothing', 'train_*.bin');
  for (const [args, message] of [
    [['--data', none], `moontrain train: --data '${none}': no file matches this pattern`],
    [['--data', trainGlob, '--val-data', none], `moontrain train: --val-data '${none}': no file matches this pattern`],
  ] as const) {
    const out = path.join(tmp, 'never');
    const r = cli(['train', ...common, ...args, '--steps', '2', '--out', out]);
    t.is(r.status, 1, r.stderr);
    t.is(r.stderr.trim(), message);
    t.false(fs.existsSync(out));
  }
  const mixed = path.join(tmp, 'mixed');
  fs.mkdirSync(mixed);
  writeLlmcTokenFile(path.join(mixed, 'train_000000.bin'), Int32Array.from({ length: 3000 }, (_, i) => i % 300), 1, 300);
  writeLlmcTokenFile(path.join(mixed, 'train_000001.bin'), Int32Array.from({ length: 3000 }, (_, i) => i % 200), 1, 200);
  const out = path.join(tmp, 'mixed-run');
  const r = cli(['train', ...common, '--data', path.join(mixed, 'train_*.bin'), '--steps', '2', '--out', out]);
  t.is(r.status, 1, r.stderr);
  t.is(r.stderr.trim(), `moontrain train: --data: ${path.join(mixed, 'train_*.bin')}: mixed vocabularies: ${path.join(mixed, 'train_000000.bin')} records 300 tokens, ${path.join(mixed, 'train_000001.bin')} 200`);
  t.false(fs.existsSync(out));
});

test('training a few steps on 400 MB of uint16 shards: peak memory stays far below the corpus size', (t) => {
  const dir = path.join(tmp, 'big');
  fs.mkdirSync(dir);
  const perShard = 50_000_000, count = 4;
  const chunk = new Uint16Array(1 << 20);
  for (let k = 0; k < count; k++) {
    const fd = fs.openSync(path.join(dir, `train_${String(k).padStart(6, '0')}.bin`), 'w');
    const head = new Int32Array(256);
    head.set([20240520, 1, perShard, 300]);
    fs.writeSync(fd, new Uint8Array(head.buffer));
    for (let done = 0; done < perShard; done += chunk.length) {
      const n = Math.min(chunk.length, perShard - done);
      for (let i = 0; i < n; i++) chunk[i] = ((done + i) * 13 + k * 7 + (i >> 5)) % 300;
      fs.writeSync(fd, new Uint8Array(chunk.buffer, 0, n * 2));
    }
    fs.closeSync(fd);
  }
  const corpusBytes = count * perShard * 2;
  const r = spawnSync(process.execPath, ['--import', require.resolve('tsx'), path.join(root, 'test', 'helpers', 'train-rss.ts'),
    ...common, '--data', path.join(dir, 'train_*.bin'), '--steps', '3', '--out', path.join(tmp, 'big-run')], { cwd: root, encoding: 'utf8' });
  fs.rmSync(dir, { recursive: true, force: true });
  t.is(r.status, 0, r.stderr);
  t.regex(r.stderr, /4 files, uint16, read lazily/);
  const { maxRssKiB } = JSON.parse(r.stdout.trim().split('\n').pop()!) as { maxRssKiB: number };
  const peak = maxRssKiB * 1024;
  t.log(`peak RSS ${(peak / 2 ** 20).toFixed(0)} MiB training on ${(corpusBytes / 2 ** 20).toFixed(0)} MiB of tokens`);
  const why = rssUnmeasurable();
  if (why) t.log(`RSS bound not checked: ${why}`);
  else t.true(peak < corpusBytes / 2, `peak RSS ${(peak / 2 ** 20).toFixed(0)} MiB, expected below half the corpus (${(corpusBytes / 2 ** 21).toFixed(0)} MiB)`);
});
