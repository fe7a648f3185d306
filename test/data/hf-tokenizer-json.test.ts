// tokenizer.json as Hugging Face's tokenizers reads it: the npm package @huggingface/tokenizers
// loads what moontrain writes and encodes and decodes the Brown validation text exactly as
// moontrain does; moontrain reads the file back to the same tokenizer.
import test from 'ava';
import { BpeTokenizer } from '../../lib/data/bpe';
import { brownSplits } from '../../lib/data/brown';
import { fromHfTokenizerJson, toHfTokenizerJson } from '../../lib/data/hf-tokenizer-json';

// An ES module package; ava runs the tests as CommonJS, where require() of it gets its CJS build.
const { Tokenizer } = require('@huggingface/tokenizers') as typeof import('@huggingface/tokenizers', { with: { 'resolution-mode': 'require' } });

test('Hugging Face tokenizers encodes and decodes Brown validation exactly as moontrain (tiny vocab 2048)', (t) => {
  const splits = brownSplits();
  const tok = BpeTokenizer.train(splits.train, { vocabSize: 2048 });
  const json = toHfTokenizerJson(tok);
  const hf = new Tokenizer(JSON.parse(json), { clean_up_tokenization_spaces: false });
  const ours = Array.from(tok.encode(splits.val));
  const theirs = hf.encode(splits.val).ids;
  t.is(theirs.length, ours.length);
  const first = ours.findIndex((id, i) => id !== theirs[i]);
  t.is(first, -1, `first difference at token ${first}`);
  t.is(hf.decode(ours, { clean_up_tokenization_spaces: false } as never), splits.val);
  t.deepEqual(fromHfTokenizerJson(json, 'tokenizer.json').merges, tok.merges);
});

test('a damaged tokenizer.json is one clear error naming the file', (t) => {
  const tok = BpeTokenizer.train('the cat sat on the mat with the hat', { vocabSize: 270 });
  const j = JSON.parse(toHfTokenizerJson(tok));
  t.throws(() => fromHfTokenizerJson('{"model": 1', '/x/tokenizer.json'), { message: /\/x\/tokenizer\.json: not JSON/ });
  j.model.merges.reverse();
  t.throws(() => fromHfTokenizerJson(JSON.stringify(j), '/x/tokenizer.json'), { message: /\/x\/tokenizer\.json: merge 0/ });
});
