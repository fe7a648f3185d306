// A text file's tokenizer learns from the training split only: words that occur only in the
// validation split get no merges, and the tokenizer is the one trained on the first 90% of words.
import test from 'ava';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { BpeTokenizer, prepareDataset } from '../../lib/data';
import { wordOffset } from '../../lib/data/brown';

test('a text file\'s tokenizer is trained on the training words only (no validation leak)', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-split-'));
  const file = path.join(dir, 'story.txt');
  const train = Array.from({ length: 900 }, (_, i) => ['the', 'cat', 'sat', 'on', 'mat'][i % 5]).join(' ');
  const val = Array.from({ length: 100 }, () => 'zyxwv').join(' ');
  fs.writeFileSync(file, `${train} ${val}`);
  for (const cacheDir of [undefined, path.join(dir, 'cache')]) {
    const d = prepareDataset({ data: file, vocabSize: 300, cacheDir });
    const text = fs.readFileSync(file, 'utf8');
    const expected = BpeTokenizer.train(text.slice(0, wordOffset(text, 900)), { vocabSize: 300 });
    t.deepEqual((d.tokenizer as BpeTokenizer).merges, expected.merges, `cacheDir ${cacheDir}`);
    t.is(d.val.length, new TextEncoder().encode(text.slice(wordOffset(text, 900))).length, 'validation words stay bytes: no merge learnt from them');
  }
});
