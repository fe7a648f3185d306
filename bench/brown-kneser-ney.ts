// The Kneser-Ney trigram baseline of the Brown perplexity table (docs/experiments.md): the word
// tokenizer with Bengio et al.'s rare-word rule on the train split, an interpolated modified
// Kneser-Ney trigram on its ids, perplexity per token on val and test.
//   node --import tsx bench/brown-kneser-ney.ts
import { prepareDataset } from '../lib/data';
import { KneserNeyTrigram } from '../lib/ngram/kneser-ney';

const d = prepareDataset({ data: 'brown', tokenizerKind: 'word' });
const kn = new KneserNeyTrigram(d.train, d.vocabSize);
const unk = (ids: Int32Array) => ids.reduce((a, id) => a + (id === 0 ? 1 : 0), 0) / ids.length;
const out = {
  vocabulary: d.vocabSize,
  tokens: { train: d.train.length, val: d.val.length, test: d.test.length },
  unk_share: { val: unk(d.val), test: unk(d.test) },
  perplexity: { val: Math.exp(kn.crossEntropy(d.val)), test: Math.exp(kn.crossEntropy(d.test)) },
};
console.log(JSON.stringify(out, null, 1));
