// prepareDataset with tokenizer 'word': Bengio et al.'s closed vocabulary on Brown and on text
// files, with the splits' byte counts; token files have no words to use.
import test from 'ava';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { brownSplits, INVALID_ARGUMENT, prepareDataset, writeLlmcTokenFile } from '../../lib/data';

test('Brown in words: vocabulary from the train split (rare words as <unk>), splits encoded, bytes counted', (t) => {
  const d = prepareDataset({ data: 'brown', tokenizerKind: 'word' });
  const s = brownSplits();
  t.is(d.vocabSize, 14113);
  t.is(d.train.length, s.words.train);
  t.is(d.val.length, s.words.val);
  t.is(d.test.length, s.words.test);
  t.deepEqual(d.bytes, { train: Buffer.byteLength(s.train), val: Buffer.byteLength(s.val), test: Buffer.byteLength(s.test) });
  const firstWords = s.test.split(/\s+/).filter(Boolean).slice(0, 50);
  const decoded = d.tokenizer!.decode(d.test.subarray(0, 50)).split(' ');
  decoded.forEach((w, i) => t.true(w === firstWords[i] || w === '<unk>', `${w} vs ${firstWords[i]}`));
  let unk = 0;
  for (const id of d.test) if (id === 0) unk++;
  t.is((100 * unk / d.test.length).toFixed(1), '9.2');
  t.regex(d.description, /vocabulary 14,113/);
});

test('a text file in words (90/10 split); a token file cannot be read in words', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-word-'));
  const text = path.join(dir, 'a.txt');
  const words = Array.from({ length: 1000 }, (_, i) => ['the', 'cat', 'sat', 'on', 'a', 'mat', `w${i % 7}`, `rare${i}`][i % 8]);
  fs.writeFileSync(text, words.join(' ') + '\n');
  const d = prepareDataset({ data: text, tokenizerKind: 'word' });
  t.is(d.train.length, 900);
  t.is(d.val.length, 100);
  t.is(d.vocabSize, 1 + 6 + 7, '<unk>, six frequent words, w0..w6; every rare<i> is seen once');
  const bin = path.join(dir, 't.bin');
  writeLlmcTokenFile(bin, Int32Array.from({ length: 100 }, (_, i) => i % 50), 1);
  t.throws(() => prepareDataset({ data: bin, tokenizerKind: 'word' }), { code: INVALID_ARGUMENT, message: /options.tokenizerKind/ });
  t.throws(() => prepareDataset({ data: text, tokenizerKind: 'chars' as 'word' }), { code: INVALID_ARGUMENT, message: /'bpe' or 'word'/ });
});
