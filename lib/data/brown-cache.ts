// The Brown corpus tokenized, cached on disk: the BPE tokenizer trained on the train split
// (`<cacheDir>/brown-bpe-<vocabSize>-eot.json`: vocabSize tokens, the end-of-text token last) and
// the token ids of each split as llm.c token files (`<cacheDir>/brown-bpe-<vocabSize>-<hash>-
// <split>.bin`, hash = the first 12 hex digits of the SHA-256 of the tokenizer's JSON, so a
// retrained tokenizer never meets stale tokens). Every file is written atomically, so concurrent
// processes (ranks) may race to build the cache safely.
//
// Documents: the end-of-text token stands between two documents, in place of the blank line that
// separates them in the text (brown.ts); a tokenizer without it (a checkpoint from before special
// tokens) encodes the text as it is.
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { BpeTokenizer, END_OF_TEXT, MAX_VOCAB } from './bpe';
import { BROWN_DOCUMENT_SEPARATOR, brownSplits } from './brown';
import { checkInt, checkPath } from './errors';
import { toHfTokenizerJson } from './hf-tokenizer-json';
import { readTokenFile, writeLlmcTokenFile } from './token-files';

export interface BrownTokens {
  tokenizer: BpeTokenizer;
  train: Int32Array;
  val: Int32Array;
  test: Int32Array;
}

/** A short content hash of a tokenizer (its JSON form). */
export function tokenizerHash(tokenizer: BpeTokenizer): string {
  const form = tokenizer.isMoontrainOrder ? JSON.stringify(tokenizer.toJSON()) : toHfTokenizerJson(tokenizer);
  return createHash('sha256').update(form).digest('hex').slice(0, 12);
}

/** A tokenizer of moontrain's data: byte-level BPE with the end-of-text token as its last id. */
export function trainDataTokenizer(text: string, vocabSize: number): BpeTokenizer {
  return BpeTokenizer.train(text, { vocabSize, specialTokens: [END_OF_TEXT] });
}

/** Loads `file` when it exists; otherwise trains on `text` (trainDataTokenizer), saves to `file`, and returns it. */
export function loadOrTrainTokenizer(file: string, text: () => string, vocabSize: number): BpeTokenizer {
  if (fs.existsSync(file)) return BpeTokenizer.load(file);
  const tokenizer = trainDataTokenizer(text(), vocabSize);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  tokenizer.save(file);
  return tokenizer;
}

/** Brown text with the end-of-text token between documents (where the text has a blank line). */
export function brownDocuments(text: string): string {
  return text.split(BROWN_DOCUMENT_SEPARATOR).join(END_OF_TEXT);
}

/** The ids of a Brown split: documents separated by the end-of-text token when the tokenizer has one. */
export function encodeBrown(tokenizer: BpeTokenizer, text: string): Int32Array {
  return tokenizer.encode(tokenizer.endOfTextId === undefined ? text : brownDocuments(text));
}

/**
 * The byte-level BPE tokenizer of the Brown TRAIN split with `vocabSize` tokens (the end-of-text
 * token included): trained once and saved as `<cacheDir>/brown-bpe-<vocabSize>-eot.json`; later
 * calls load that file.
 */
export function cachedBrownTokenizer(cacheDir: string, vocabSize: number): BpeTokenizer {
  const op = 'cachedBrownTokenizer';
  checkPath(op, 'cacheDir', cacheDir);
  checkInt(op, 'vocabSize', vocabSize, 256, MAX_VOCAB);
  return loadOrTrainTokenizer(path.join(cacheDir, `brown-bpe-${vocabSize}-eot.json`), () => brownDocuments(brownSplits().train), vocabSize);
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
    const tokenizer = given ?? trainDataTokenizer(brownDocuments(splits.train), vocabSize);
    return { tokenizer, train: encodeBrown(tokenizer, splits.train), val: encodeBrown(tokenizer, splits.val), test: encodeBrown(tokenizer, splits.test) };
  }
  const tokenizer = given ?? cachedBrownTokenizer(cacheDir, vocabSize);
  const hash = tokenizerHash(tokenizer);
  fs.mkdirSync(cacheDir, { recursive: true });
  const load = (split: 'train' | 'val' | 'test'): Int32Array => {
    const file = path.join(cacheDir, `brown-bpe-${tokenizer.vocabSize}-${hash}-${split}.bin`);
    if (fs.existsSync(file)) return readTokenFile(file, { vocabSize: tokenizer.vocabSize }).tokens;
    const tokens = encodeBrown(tokenizer, splits[split]);
    writeLlmcTokenFile(file, tokens, tokenizer.vocabSize <= 65536 ? 1 : 2);
    return tokens;
  };
  return { tokenizer, train: load('train'), val: load('val'), test: load('test') };
}
