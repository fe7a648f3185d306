// tokenizer.json as Hugging Face's tokenizers reads it: the npm package @huggingface/tokenizers
// loads what moontrain writes and encodes and decodes the Brown validation text exactly as
// moontrain does, the end-of-text token as one id; moontrain reads the file back to the same
// tokenizer, reads files from before special tokens, and reads foreign byte-level BPE files
// (GPT-2 style, ids in their own order) to the ids Hugging Face tokenizers gives.
import test from 'ava';
import { BpeTokenizer, END_OF_TEXT } from '../../lib/data/bpe';
import { brownSplits } from '../../lib/data/brown';
import { fromHfTokenizerJson, hfTokenizerConfigJson, toHfTokenizerJson } from '../../lib/data/hf-tokenizer-json';

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
  j.model.merges[0] = ['q', 'zzz'];
  t.throws(() => fromHfTokenizerJson(JSON.stringify(j), '/x/tokenizer.json'), { message: /\/x\/tokenizer\.json: merge 0/ });
});

test('the end-of-text token: the last id, one token in Hugging Face tokenizers too, written as a special added token', (t) => {
  const tok = BpeTokenizer.train(brownSplits().train.slice(0, 300_000), { vocabSize: 600, specialTokens: [END_OF_TEXT] });
  t.is(tok.vocabSize, 600);
  t.is(tok.endOfTextId, 599);
  t.is(tok.merges.length, 600 - 256 - 1);
  const json = toHfTokenizerJson(tok);
  t.deepEqual(JSON.parse(json).added_tokens, [{ id: 599, content: END_OF_TEXT, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }]);
  const config = JSON.parse(hfTokenizerConfigJson(tok, 128));
  t.is(config.eos_token, END_OF_TEXT);
  t.is(config.bos_token, END_OF_TEXT);
  t.true(config.added_tokens_decoder['599'].special);
  const hf = new Tokenizer(JSON.parse(json), config);
  t.is(hf.token_to_id(END_OF_TEXT), 599);
  const text = `The jury said.${END_OF_TEXT}Next document<|endoftext|><|endoftext|> ends here ${END_OF_TEXT}`;
  const ours = Array.from(tok.encode(text));
  t.deepEqual(hf.encode(text).ids, ours);
  t.is(ours.filter((id) => id === 599).length, 4, 'each end-of-text is one id');
  t.is(tok.decode(ours), text);
  t.is(hf.decode(ours, { clean_up_tokenization_spaces: false } as never), text);
  t.deepEqual(Array.from(tok.encode(END_OF_TEXT)), [599]);
  // read back: the same tokenizer, special token included
  const back = fromHfTokenizerJson(json, 'tokenizer.json');
  t.deepEqual(back.toJSON(), tok.toJSON());
  t.is(back.endOfTextId, 599);
});

test('tokenizer files from before special tokens still load (no end-of-text token, same ids)', (t) => {
  const tok = BpeTokenizer.train('the cat sat on the mat with the hat and the bat', { vocabSize: 270 });
  const old = JSON.parse(toHfTokenizerJson(tok));
  t.deepEqual(old.added_tokens, []);
  const back = fromHfTokenizerJson(JSON.stringify(old), 'tokenizer.json');
  t.is(back.endOfTextId, undefined);
  t.is(back.vocabSize, tok.vocabSize);
  t.deepEqual(back.toJSON(), { type: 'byte-bpe', version: 1, vocabSize: tok.vocabSize, merges: tok.merges });
  // moontrain's own JSON form without the specialTokens field (as the cache held it)
  t.is(BpeTokenizer.fromJSON({ type: 'byte-bpe', version: 1, vocabSize: 258, merges: [[104, 101], [32, 256]] }).endOfTextId, undefined);
  t.deepEqual(Array.from(back.encode('the <|endoftext|>')), Array.from(tok.encode('the <|endoftext|>')), 'no special token: its text is plain text');
});

/** A GPT-2 style tokenizer.json with its own ids: the ids of `base` shuffled, merges as "a b" strings, end-of-text in the vocab and added. */
function gpt2Style(base: BpeTokenizer, seed: number) {
  const n = base.vocabSize;
  const perm = Array.from({ length: n + 1 }, (_, i) => i);
  let s = seed;
  for (let i = perm.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) % 2147483648;
    const j = s % (i + 1);
    [perm[i], perm[j]] = [perm[j]!, perm[i]!];
  }
  const mine = JSON.parse(toHfTokenizerJson(base));
  const vocab: Record<string, number> = {};
  for (const [str, id] of Object.entries(mine.model.vocab as Record<string, number>)) vocab[str] = perm[id]!;
  const eot = perm[n]!;
  vocab[END_OF_TEXT] = eot;
  const json = {
    version: '1.0', truncation: null, padding: null,
    added_tokens: [{ id: eot, content: END_OF_TEXT, single_word: false, lstrip: false, rstrip: false, normalized: true, special: true }],
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '', fuse_unk: false, byte_fallback: false,
      vocab, merges: (mine.model.merges as [string, string][]).map(([a, b]) => `${a} ${b}`),
    },
  };
  return { json, perm, eot };
}

test('a foreign GPT-2 style tokenizer.json (ids in its own order, string merges, end-of-text added) encodes as Hugging Face tokenizers does', (t) => {
  const splits = brownSplits();
  const base = BpeTokenizer.train(splits.train.slice(0, 400_000), { vocabSize: 700 });
  const { json, perm, eot } = gpt2Style(base, 7);
  t.not(perm.slice(0, 256).join(), Array.from({ length: 256 }, (_, i) => i).join(), 'bytes are not ids 0..255');
  const foreign = fromHfTokenizerJson(JSON.stringify(json), 'gpt2/tokenizer.json');
  t.false(foreign.isMoontrainOrder);
  t.is(foreign.vocabSize, 701);
  t.is(foreign.endOfTextId, eot);
  const hf = new Tokenizer(json, {});
  const text = `${splits.val.slice(0, 20_000)}${END_OF_TEXT}Ünïcödé 🌍 tabs\tand  spaces\n\n${END_OF_TEXT}it's 1234 done.`;
  const ours = Array.from(foreign.encode(text));
  const theirs = hf.encode(text).ids;
  const first = ours.findIndex((id, i) => id !== theirs[i]);
  t.is(first, -1, `first difference at token ${first}`);
  t.is(theirs.length, ours.length);
  // the same tokens as the tokenizer it was made from, through the permutation
  const reference = [...splitKeep(text)].flatMap((p) => (p === END_OF_TEXT ? [eot] : Array.from(base.encode(p), (id) => perm[id]!)));
  t.deepEqual(ours, reference);
  t.is(foreign.decode(ours), text);
  t.is(hf.decode(ours, { clean_up_tokenization_spaces: false } as never), text);
  // written back and read again: the same ids
  const again = fromHfTokenizerJson(toHfTokenizerJson(foreign), 'again.json');
  t.deepEqual(Array.from(again.encode(text)), ours);
  t.throws(() => foreign.toJSON(), { message: /not moontrain's order/ });
});

function* splitKeep(text: string) {
  const parts = text.split(END_OF_TEXT);
  for (let i = 0; i < parts.length; i++) {
    if (i > 0) yield END_OF_TEXT;
    yield parts[i]!;
  }
}

test('ignore_merges: a chunk that is a whole token of the vocab is that token, as Hugging Face tokenizers does', (t) => {
  const base = BpeTokenizer.train('the cat sat on the mat with the hat and the bat', { vocabSize: 270 });
  const j = JSON.parse(toHfTokenizerJson(base));
  j.model.vocab.zebra = 270; // reachable by no merge
  j.model.ignore_merges = true;
  const ours = fromHfTokenizerJson(JSON.stringify(j), 'x.json');
  const hf = new Tokenizer(j, {});
  for (const text of ['zebra the zebra', 'the zebras']) t.deepEqual(Array.from(ours.encode(text)), hf.encode(text).ids, text);
  t.deepEqual(Array.from(ours.encode('zebra')), [270]);
  t.is(ours.decode([270]), 'zebra');
});

test('foreign tokenizer.json features the encoder does not have are refused by name', (t) => {
  const base = BpeTokenizer.train('the cat sat on the mat', { vocabSize: 262 });
  const good = JSON.parse(toHfTokenizerJson(base));
  const cases: [string, (j: any) => void, RegExp][] = [
    ['normalizer', (j) => (j.normalizer = { type: 'NFC' }), /expected no normalizer/],
    ['prefix space', (j) => (j.pre_tokenizer.add_prefix_space = true), /add_prefix_space false/],
    ['other pre-tokenizer', (j) => (j.pre_tokenizer = { type: 'Whitespace' }), /expected pre_tokenizer ByteLevel/],
    ['byte fallback', (j) => (j.model.byte_fallback = true), /byte_fallback/],
    ['missing byte', (j) => delete j.model.vocab['a'], /expected a token for byte 97/],
    ['merge result missing', (j) => j.model.merges.push(['a', 'a']), /merge \d+ .*concatenation/],
    ['lstrip', (j) => j.added_tokens.push({ id: 300, content: '<mask>', lstrip: true, special: true }), /lstrip, rstrip and single_word are not supported/],
    ['two tokens one id', (j) => (j.model.vocab['Ġzz'] = 0), /id 0 is given to two tokens/],
  ];
  for (const [label, change, re] of cases) {
    const j = JSON.parse(JSON.stringify(good));
    change(j);
    t.throws(() => fromHfTokenizerJson(JSON.stringify(j), '/x/tokenizer.json'), { message: new RegExp(`/x/tokenizer\\.json: .*${re.source}`) }, label);
  }
});
