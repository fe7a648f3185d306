// moontrain tokenize as a user runs it: shards from a text file with a given tokenizer, usage
// errors in one line, and a folder that already holds shards left alone.
import test from 'ava';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { BpeTokenizer, brownSplits, readTokenFile } from '../../lib/data';
import { cli } from '../helpers/cli-run';
import { toHfTokenizerJson } from '../../lib/data/hf-tokenizer-json';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-tokenize-cli-'));
test.after.always(() => fs.rmSync(dir, { recursive: true, force: true }));

test('tokenize writes validation and train shards whose tokens are the text encoded by the tokenizer', (t) => {
  const text = brownSplits().test.slice(0, 120_000);
  const input = path.join(dir, 'in.txt');
  fs.writeFileSync(input, text);
  const tokFile = path.join(dir, 'tok.json');
  const tok = BpeTokenizer.train(text, { vocabSize: 400 });
  tok.save(tokFile);
  const out = path.join(dir, 'shards');
  const r = cli(['tokenize', input, '--out', out, '--tokenizer', tokFile, '--shard-tokens', '5000', '--val-tokens', '1000']);
  t.is(r.status, 0, r.stderr);
  t.regex(r.stderr, /tokens \(uint16\) into \d+ shards/);
  const files = fs.readdirSync(out).sort();
  t.is(files[files.length - 1], 'val_000000.bin');
  const ids = [...files.slice(-1), ...files.slice(0, -1)].flatMap((f) => [...readTokenFile(path.join(out, f)).tokens]);
  t.deepEqual(ids, [...tok.encode(text)]);
  const again = cli(['tokenize', input, '--out', out, '--tokenizer', tokFile]);
  t.is(again.status, 2, again.stderr);
  t.regex(again.stderr, /already holds token shards/);
  t.deepEqual(fs.readdirSync(out).sort(), files);
});

test('tokenize: no input, no --out, a missing input: one line each', (t) => {
  for (const [args, message] of [
    [['--out', dir], /expected one or more input files/],
    [[path.join(dir, 'nothing.txt'), '--out', path.join(dir, 'x')], /nothing\.txt: not a file/],
    [[__filename], /--out DIR is required/],
  ] as const) {
    const r = cli(['tokenize', ...args]);
    t.is(r.status, 2, r.stderr);
    t.regex(r.stderr, message);
    t.is(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
});

test('JSON lines through a tokenizer.json with the end-of-text token: that token before each document', (t) => {
  const tok = BpeTokenizer.train(brownSplits().test.slice(0, 50_000), { vocabSize: 400, specialTokens: ['<|endoftext|>'] });
  const tokFile = path.join(dir, 'eot-tokenizer.json');
  fs.writeFileSync(tokFile, toHfTokenizerJson(tok));
  const docs = ['The first document.', 'A second one, longer than the first.', 'Third.'];
  const input = path.join(dir, 'docs.jsonl');
  fs.writeFileSync(input, docs.map((text) => JSON.stringify({ text })).join('\n') + '\n');
  const out = path.join(dir, 'eot-shards');
  const r = cli(['tokenize', input, '--out', out, '--tokenizer', tokFile]);
  t.is(r.status, 0, r.stderr);
  const ids = [...readTokenFile(path.join(out, 'train_000000.bin')).tokens];
  t.deepEqual(ids, docs.flatMap((d) => [399, ...tok.encode(d)]));
});
