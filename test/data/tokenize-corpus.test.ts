// moontrain tokenize's core: text and JSON lines streamed into llm.c shards. Streaming gives the
// same tokens as encoding the whole text; shards have the asked size and width; memory stays flat.
import test from 'ava';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { BpeTokenizer, brownSplits, readTokenFile } from '../../lib/data';
import { tokenizeCorpus } from '../../lib/data/tokenize-corpus';
import { safeCut } from '../../lib/data/text-stream';
import { rssUnmeasurable } from '../helpers/util';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-tokenize-'));
test.after.always(() => fs.rmSync(dir, { recursive: true, force: true }));
const brown = brownSplits();
const tokenizer = BpeTokenizer.train(brown.val.slice(0, 300_000), { vocabSize: 700 });
const concat = (files: string[]) => {
  const parts = files.map((f) => readTokenFile(f).tokens);
  const out = new Int32Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) (out.set(p, o), (o += p.length));
  return out;
};

test('safeCut: only before the last whitespace of a run that a word follows', (t) => {
  t.is(safeCut('a  b'), 2);
  t.is(safeCut('ab\n\ncd'), 3);
  t.is(safeCut('abc '), -1);
  t.is(safeCut('abc'), -1);
});

test('streamed in small pieces, a text gives the tokens of the whole; shards are exact, uint16, validation first', async (t) => {
  const text = brown.test + brown.val.slice(0, 200_000);
  const file = path.join(dir, 'corpus.txt');
  fs.writeFileSync(file, text);
  const whole = tokenizer.encode(text);
  const out = path.join(dir, 'shards');
  const r = await tokenizeCorpus([file], { out, tokenizer, shardTokens: 100_000, valTokens: 30_000, pieceChars: 4096 });
  t.is(r.tokens, whole.length);
  t.is(r.version, 1);
  t.deepEqual(r.val.map((f) => path.basename(f)), ['val_000000.bin']);
  t.is(r.train.length, Math.ceil((whole.length - 30_000) / 100_000));
  t.true(r.train.slice(0, -1).every((f) => readTokenFile(f).tokens.length === 100_000));
  t.is(readTokenFile(r.train[0]!).format, 'llmc-v1');
  t.deepEqual(concat([...r.val, ...r.train]), whole);
});

test('JSON lines: one document per line, end-of-text before each, bad lines named', async (t) => {
  const file = path.join(dir, 'docs.jsonl');
  const docs = ['The jury said.', 'Another "quoted" text\nwith a newline.', 'x'];
  fs.writeFileSync(file, `${docs.map((d) => JSON.stringify({ id: 1, text: d })).join('\n')}\n\n`);
  const r = await tokenizeCorpus([file], { out: path.join(dir, 'jsonl'), tokenizer, endOfText: 699 });
  const expected = docs.flatMap((d) => [699, ...tokenizer.encode(d)]);
  t.deepEqual([...concat(r.train)], expected);
  fs.writeFileSync(file, '{"text": "ok"}\n{"body": "no text"}\n');
  await t.throwsAsync(tokenizeCorpus([file], { out: path.join(dir, 'bad'), tokenizer }), { message: /docs\.jsonl: line 2: field 'text' is not a string \(got nothing\)/ });
  fs.writeFileSync(file, '{"text": "ok"}\n{oops\n');
  await t.throwsAsync(tokenizeCorpus([file], { out: path.join(dir, 'bad'), tokenizer }), { message: /line 2: not JSON/ });
});

test('memory stays flat over a ~40 MB input (RSS after gc at each tenth)', (t) => {
  const why = rssUnmeasurable();
  if (why) {
    t.log(`skipped: ${why}`);
    return t.pass();
  }
  const out = execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', '-e',
    `require(${JSON.stringify(path.join(__dirname, '..', '..', 'bench', 'tokenize-memory'))}).tokenizeMemory(40, 1_000_000).then((r) => console.log(JSON.stringify(r)))`], { encoding: 'utf8' });
  const r = JSON.parse(out.trim().split('\n').pop()!) as { tokens: number; rss: [number, number][] };
  const rss = r.rss.map(([, b]) => b);
  t.log(`${r.tokens} tokens; RSS after gc from ${(rss[1]! / 2 ** 20).toFixed(0)} to ${(Math.max(...rss) / 2 ** 20).toFixed(0)} MiB`);
  t.true(rss.length >= 8, `${rss.length} samples`);
  // Flat: the tokenizer's chunk cache and the heap settle within the first half; the second half
  // of the input adds nothing (a reader keeping text or tokens would add 20 MB or more).
  const half = Math.ceil(rss.length / 2);
  t.true(Math.max(...rss.slice(half)) - Math.max(...rss.slice(0, half)) < 16 * 2 ** 20, `RSS ${rss.map((b) => (b / 2 ** 20).toFixed(0)).join(', ')} MiB`);
});
