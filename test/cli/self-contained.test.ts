// A checkpoint is self-contained: it carries its tokenizer (tokenizer.json, Hugging Face format)
// and the data's resolved path and fingerprint; eval/sample work from anywhere without touching
// files outside the checkpoint, refuse changed data, and sample never emits ids the tokenizer lacks.
import test from 'ava';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { cli, microSetup } from '../helpers/cli-run';
import { writeStoryRun } from '../helpers/micro-run';
import { maskBeyond, pickToken } from '../../lib/cli/sample';
import { Rng } from '../../lib/nn/init';

const { tmp } = microSetup('mt-self-');
const { story, bigVocab } = writeStoryRun(tmp);
const run = path.join(tmp, 'story-run'), cache = path.join(tmp, 'cache');
const args = ['--config', bigVocab, '--batch-size', '4', '--seq-len', '16', '--eval-every', '4', '--eval-batches', '2', '--warmup', '2', '--cache-dir', cache];
const trained = cli(['train', ...args, '--data', 'story.txt', '--steps', '4', '--out', run], {}, tmp);

test('a text run sizes the model to a smaller tokenizer (notice) and saves tokenizer.json and the data fingerprint', (t) => {
  t.is(trained.status, 0, trained.stderr);
  t.regex(trained.stderr, /notice: the tokenizer of this data has \d+ tokens; the model's vocab_size is \d+ \(the config asks for 2048\)/);
  const ck = path.join(run, 'checkpoint');
  const tok = JSON.parse(fs.readFileSync(path.join(ck, 'tokenizer.json'), 'utf8'));
  const config = JSON.parse(fs.readFileSync(path.join(ck, 'config.json'), 'utf8'));
  t.is(Object.keys(tok.model.vocab).length + tok.added_tokens.length, config.vocab_size, 'the BPE vocab and the end-of-text token');
  t.true(config.vocab_size < 2048);
  const state = JSON.parse(fs.readFileSync(path.join(ck, 'trainer.json'), 'utf8'));
  t.is(state.data_fingerprint.path, story);
  t.is(state.data_fingerprint.size, fs.statSync(story).size);
  t.regex(state.data_fingerprint.sha256, /^[0-9a-f]{64}$/);
});

test('eval and sample work from another directory and create or read nothing outside the checkpoint', (t) => {
  t.is(trained.status, 0, trained.stderr);
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-home-'));
  fs.rmSync(cache, { recursive: true, force: true });
  const env = { HOME: home, MOONTRAIN_CACHE: undefined };
  const s = cli(['sample', '--checkpoint', run, '--prompt', 'the cat', '--tokens', '20'], env, home);
  t.is(s.status, 0, s.stderr);
  t.true(s.stdout.startsWith('the cat'));
  const e = cli(['eval', '--checkpoint', path.join(run, 'checkpoint'), '--json'], env, home);
  t.is(e.status, 0, e.stderr);
  t.true(JSON.parse(e.stdout).loss > 0);
  t.deepEqual(fs.readdirSync(home), [], 'nothing created in HOME (no default cache)');
  t.false(fs.existsSync(cache), 'the training cache is not recreated');
});

test('changed data is refused by eval and resume, naming the file and both fingerprints', (t) => {
  t.is(trained.status, 0, trained.stderr);
  const copy = path.join(tmp, 'story-copy');
  fs.cpSync(run, copy, { recursive: true, verbatimSymlinks: true });
  const original = fs.readFileSync(story);
  fs.appendFileSync(story, 'one more line of words.\n');
  try {
    for (const r of [cli(['eval', '--checkpoint', copy]), cli(['train', '--resume', copy, '--steps', '6'])]) {
      t.not(r.status, 0);
      t.regex(r.stderr, new RegExp(`the data ${story.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} changed since the run trained on it: it was ${original.length} bytes, sha256 [0-9a-f]{16}, it is now ${original.length + 24} bytes`));
      t.is(r.stderr.trim().split('\n').length, 1, r.stderr);
    }
  } finally {
    fs.writeFileSync(story, original);
  }
});

test('sample never picks an id the tokenizer does not have', (t) => {
  const rng = new Rng(3);
  for (let i = 0; i < 200; ++i) {
    const logits = Float32Array.from({ length: 50 }, (_, j) => (j >= 30 ? 10 : rng.uniform()));
    const id = pickToken(maskBeyond(logits, 30), i % 3 === 0 ? 0 : 1, i % 2 ? 0 : 5, rng);
    t.true(id < 30, `picked ${id}`);
  }
});

test('a token-file run\'s eval refuses changed data too', (t) => {
  const { tmp: dir, common } = microSetup('mt-self-tok-');
  const r = path.join(dir, 'run');
  t.is(cli(['train', ...common, '--steps', '2', '--out', r]).status, 0);
  t.is(cli(['eval', '--checkpoint', r]).status, 0);
  fs.appendFileSync(path.join(dir, 'tokens.bin'), Buffer.alloc(4));
  const e = cli(['eval', '--checkpoint', r]);
  t.is(e.status, 1);
  t.regex(e.stderr, /tokens\.bin changed since the run trained on it/);
});
