// The text side of the byte-level BPE (bpe.ts): GPT-2's pre-tokenization, special tokens, and the
// checks of text arguments.
//
// Pre-splitting: the text is first cut into chunks with GPT-2's pattern: contractions ('s 't 're
// 've 'm 'll 'd), then ` ?letters`, ` ?digits`, ` ?other` (a single leading space joins the next
// word or run), then whitespace runs (a run before a word leaves its last space to the word).
// Merges never cross chunk boundaries, and the chunks concatenate back to the text.
import { describe, invalid } from './errors';

/** GPT-2's pre-tokenization pattern. */
export const CHUNK_PATTERN = /'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

/** The end-of-text token of moontrain's tokenizers (GPT-2's): documents are separated by it. */
export const END_OF_TEXT = '<|endoftext|>';

/** The GPT-2 style chunks of a text, in order (they concatenate back to the text). */
export function preTokenize(text: string): string[] {
  return text.match(CHUNK_PATTERN) ?? [];
}

function isWellFormed(s: string): boolean {
  const f = (s as unknown as { isWellFormed?: () => boolean }).isWellFormed;
  if (f) return f.call(s);
  return !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s);
}

/** A text argument: a well-formed string (one with a UTF-8 form). */
export function checkText(op: string, argument: string, text: unknown): string {
  if (typeof text !== 'string') throw invalid(op, argument, 'a string', describe(text));
  if (!isWellFormed(text)) throw invalid(op, argument, 'a well-formed string (UTF-16 with no lone surrogates)', 'a string with a lone surrogate');
  return text;
}

/** Special token texts: distinct, non-empty strings. */
export function checkSpecials(op: string, argument: string, v: unknown): string[] {
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string' || x === '') || new Set(v).size !== v.length) {
    throw invalid(op, argument, 'an array of distinct non-empty strings', Array.isArray(v) ? JSON.stringify(v) : describe(v));
  }
  return v as string[];
}

/** The texts between occurrences of any of `tokens`. */
export function splitOn(text: string, tokens: string[]): string[] {
  let pieces = [text];
  for (const t of [...tokens].sort((x, y) => y.length - x.length)) pieces = pieces.flatMap((p) => p.split(t));
  return pieces;
}
