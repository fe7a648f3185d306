// The Brown corpus tokenized, cached on disk: the BPE tokenizer trained on the train split
// (`<cacheDir>/brown-bpe-<vocabSize>.json`) and the token ids of each split as llm.c token files
// (`<cacheDir>/brown-bpe-<vocabSize>-<hash>-<split>.bin`, hash = the first 12 hex digits of the
// SHA-256 of the tokenizer's JSON, so a retrained tokenizer never meets stale tokens). Every file
// is written atomically, so concurrent processes (ranks) may race to build the cache safely.
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { BpeTokenizer, MAX_VOCAB } from './bpe';
import { brownSplits } from './brown';
import { checkInt, checkPath } from './errors';
import { readTokenFile, writeLlmcTokenFile } from './token-files';

export interface BrownTokens {
  tokenizer: BpeTokenizer;
  train: Int32Array;
  val: Int32Array;
  test: Int32Array;
}

/** A short content hash of a tokenizer (its JSON form). */
export function tokenizerHash(tokenizer: BpeTokenizer): string {
  return createHash('sha256').update(JSON.stringify(tokenizer.toJSON())).digest('hex').slice(0, 12);
}

/** Loads `file` when it exists; otherwise trains on `text`, saves to `file`, and returns it. */
export function loadOrTrainTokenizer(file: string, text: () => string, vocabSize: number): BpeTokenizer {
  if (fs.existsSync(file)) return BpeTokenizer.load(file);
  const tokenizer = BpeTokenizer.train(text(), { vocabSize });
  fs.mkdirSync(path.dirname(file), { recursive: true });
  tokenizer.save(file);
  return tokenizer;
}

/**
 * The byte-level BPE tokenizer of the Brown TRAIN split with `vocabSize` tokens: trained once and
 * saved as `<cacheDir>/brown-bpe-<vocabSize>.json`; later calls load that file.
 */
export function cachedBrownTokenizer(cacheDir: string, vocabSize: number): BpeTokenizer {
  const op = 'cachedBrownTokenizer';
  checkPath(op, 'cacheDir', cacheDir);
  checkInt(op, 'vocabSize', vocabSize, 256, MAX_VOCAB);
  return loadOrTrainTokenizer(path.join(cacheDir, `brown-bpe-${vocabSize}.json`), () => brownSplits().train, vocabSize);
}

/**
 * The tokenizer and the token ids of the three Brown splits. With a cacheDir, everything is
 * cached there (see the top of this file); without one, everything is computed in memory.
 */
export function brownTokens(vocabSize: number, cacheDir?: string, given?: BpeTokenizer): BrownTokens {
  const op = 'brownTokens';
  checkInt(op, 'vocabSize', vocabSize, 256, MAX_VOCAB);
  const splits = brownSplits();
  if (cacheDir === undefined) {
    const tokenizer = given ?? BpeTokenizer.train(splits.train, { vocabSize });
    return { tokenizer, train: tokenizer.encode(splits.train), val: tokenizer.encode(splits.val), test: tokenizer.encode(splits.test) };
  }
  const tokenizer = given ?? cachedBrownTokenizer(cacheDir, vocabSize);
  const hash = tokenizerHash(tokenizer);
  fs.mkdirSync(cacheDir, { recursive: true });
  const load = (split: 'train' | 'val' | 'test'): Int32Array => {
    const file = path.join(cacheDir, `brown-bpe-${tokenizer.vocabSize}-${hash}-${split}.bin`);
    if (fs.existsSync(file)) return readTokenFile(file, { vocabSize: tokenizer.vocabSize }).tokens;
    const tokens = tokenizer.encode(splits[split]);
    writeLlmcTokenFile(file, tokens, tokenizer.vocabSize <= 65536 ? 1 : 2);
    return tokens;
  };
  return { tokenizer, train: load('train'), val: load('val'), test: load('test') };
}
