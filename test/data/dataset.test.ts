// prepareDataset: Brown (tokenizer and token ids cached, second call from the cache), a user's
// text file (90% / 10% by words), token files (90% / 10% by tokens, vocabSize from the data).
import test from 'ava';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { BpeTokenizer, brownSplits, countWords, INVALID_ARGUMENT, BAD_DATA_FILE, prepareDataset, readTokenFile, writeLlmcTokenFile } from '../../lib/data';
import { END_OF_TEXT } from '../../lib/data/bpe';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'moontrain-dataset-'));
test.after.always(() => fs.rmSync(root, { recursive: true, force: true }));

test('brown: tokenizer on the train split, token ids of each split, cached on disk', (t) => {
  const cacheDir = path.join(root, 'cache');
  const a = prepareDataset({ data: 'brown', vocabSize: 1024, cacheDir });
  const s = brownSplits();
  t.is(a.vocabSize, 1024);
  t.deepEqual(a.words, { train: 800_000, val: 200_000, test: 161_192 });
  // documents are separated by the end-of-text token (the last id) where the text has a blank line
  const eot = (a.tokenizer as BpeTokenizer).endOfTextId;
  t.is(eot, 1023);
  const docs = (text: string) => text.split('\n\n').join(END_OF_TEXT);
  t.is(a.tokenizer!.decode(a.train), docs(s.train));
  t.is(a.tokenizer!.decode(a.val), docs(s.val));
  t.is(a.tokenizer!.decode(a.test), docs(s.test));
  const count = (ids: Int32Array) => ids.reduce((n, id) => n + (id === eot ? 1 : 0), 0);
  t.is(count(a.train) + count(a.val) + count(a.test), 499, 'one between each two of the 500 documents');
  const files = fs.readdirSync(cacheDir).sort();
  t.is(files.length, 4, files.join(', '));
  t.true(files.includes('brown-bpe-1024-eot.json'));
  const trainBin = files.find((f) => f.endsWith('-train.bin'))!;
  t.regex(trainBin, /^brown-bpe-1024-[0-9a-f]{12}-train\.bin$/);
  t.deepEqual(readTokenFile(path.join(cacheDir, trainBin)), { tokens: a.train, format: 'llmc-v1' });
  // the second call reads the cache: poison it to prove it
  const poisoned = Int32Array.from(a.val);
  poisoned[0] = 7;
  writeLlmcTokenFile(path.join(cacheDir, trainBin.replace('-train', '-val')), poisoned, 1);
  const b = prepareDataset({ data: 'brown', vocabSize: 1024, cacheDir });
  t.deepEqual(b.train, a.train);
  t.is(b.val[0], 7);
  t.deepEqual(b.tokenizer!.toJSON(), a.tokenizer!.toJSON());
  t.regex(a.description, /Brown corpus .*800,000 \/ 200,000 \/ 161,192.* 1024 tokens/);
  t.log(a.description);
  // without a cache directory: the same tokens, computed in memory
  const c = prepareDataset({ data: 'brown', vocabSize: 1024 });
  t.deepEqual(c.test, a.test);
});

test('brown with a tokenizer from before special tokens (an old checkpoint\'s): the text as it is, no end-of-text', (t) => {
  const s = brownSplits();
  const old = BpeTokenizer.train(s.train.slice(0, 200_000), { vocabSize: 400 });
  for (const cacheDir of [path.join(root, 'old-cache'), undefined]) {
    const d = prepareDataset({ data: 'brown', vocabSize: 400, tokenizer: old, cacheDir });
    t.is(d.tokenizer, old);
    t.is(d.tokenizer!.decode(d.val), s.val);
    t.is(d.val.length, old.encode(s.val).length);
  }
});

test('a text file: 90% / 10% of the words, test = val, tokenizer trained on the train part', (t) => {
  const file = path.join(root, 'story.txt');
  const text = brownSplits().test.slice(0, 200_000) + 'Ünïcödé 🌍 end.\n';
  fs.writeFileSync(file, text);
  const cacheDir = path.join(root, 'text-cache');
  const d = prepareDataset({ data: file, vocabSize: 600, cacheDir });
  const total = countWords(text);
  t.deepEqual(d.words, { train: Math.floor(total * 0.9), val: total - Math.floor(total * 0.9), test: total - Math.floor(total * 0.9) });
  t.is(d.test, d.val);
  t.is(d.vocabSize, 600);
  const train = d.tokenizer!.decode(d.train);
  const val = d.tokenizer!.decode(d.val);
  t.is(train + val, text);
  t.is(countWords(train), d.words.train);
  t.true(val.endsWith('Ünïcödé 🌍 end.\n'));
  const cached = fs.readdirSync(cacheDir);
  t.is(cached.length, 1);
  t.regex(cached[0]!, /^text-[0-9a-f]{16}-bpe-600-eot\.json$/);
  t.is((d.tokenizer as BpeTokenizer).endOfTextId, 599);
  const again = prepareDataset({ data: file, vocabSize: 600, cacheDir });
  t.deepEqual(again.train, d.train);
  t.regex(d.description, /text file .*story\.txt/);
});

test('token files: 90% / 10% by tokens, vocabSize from the largest id or given and checked', (t) => {
  const tokens = Int32Array.from({ length: 1000 }, (_, i) => (i * 7919) % 5000);
  const llmc = path.join(root, 'data_train.bin');
  writeLlmcTokenFile(llmc, tokens, 1);
  const d = prepareDataset({ data: llmc });
  t.deepEqual(Array.from(d.train), Array.from(tokens.subarray(0, 900)));
  t.deepEqual(Array.from(d.val), Array.from(tokens.subarray(900)));
  t.is(d.test, d.val);
  t.is(d.tokenizer, undefined);
  t.is(d.vocabSize, Math.max(...tokens) + 1);
  t.deepEqual(d.words, { train: 900, val: 100, test: 100 });
  t.is(prepareDataset({ data: llmc, vocabSize: 8192 }).vocabSize, 8192);
  const e = t.throws(() => prepareDataset({ data: llmc, vocabSize: 100 })) as Error & { code: string };
  t.is(e.code, BAD_DATA_FILE);
  const raw = path.join(root, 'train.bin');
  fs.writeFileSync(raw, new Uint8Array(Uint16Array.from(tokens).buffer));
  t.deepEqual(prepareDataset({ data: raw }).train, d.train);
  t.regex(prepareDataset({ data: raw }).description, /\(uint16\)/);
});

test('bad options', (t) => {
  const txt = path.join(root, 'two.txt');
  fs.writeFileSync(txt, 'one');
  const cases: [() => unknown, string][] = [
    [() => prepareDataset({ data: 'brown' }), 'options.vocabSize'],
    [() => prepareDataset({ data: 'brown', vocabSize: 100 }), 'options.vocabSize'],
    [() => prepareDataset({ data: '' }), 'options.data'],
    [() => prepareDataset({ data: txt, vocabSize: 300 }), 'options.data'],
    [() => prepareDataset(null as never), 'options'],
  ];
  for (const [fn, argument] of cases) {
    const e = t.throws(fn) as Error & { code: string; argument: string };
    t.is(e.code, INVALID_ARGUMENT, e.message);
    t.is(e.argument, argument, e.message);
  }
  const e = t.throws(() => prepareDataset({ data: path.join(root, 'nope.txt'), vocabSize: 300 })) as Error & { code: string };
  t.is(e.code, BAD_DATA_FILE);
});
