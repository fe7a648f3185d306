// Text corpora read as streams: plain text cut into pieces at places where the pre-tokenizer
// would cut anyway (just before the last whitespace character of a run that a word follows), and
// JSON lines one document at a time, so a corpus of any size is tokenized in bounded memory.
import * as fs from 'fs';
import * as readline from 'readline';
import { badFile } from './errors';

/** Piece size for plain text (characters). */
const PIECE = 1 << 20;

/** Where `text` may be cut so that the pieces pre-tokenize as the whole does: -1 when nowhere. */
export function safeCut(text: string): number {
  for (let i = text.length - 2; i >= 0; --i) {
    if (/\s/.test(text[i]!) && !/\s/.test(text[i + 1]!)) return i;
  }
  return -1;
}

/** The pieces of a UTF-8 text file (documents cut nowhere but at safe places). */
export async function* textPieces(file: string, pieceChars = PIECE): AsyncGenerator<string> {
  let carry = '';
  const stream = fs.createReadStream(file, { encoding: 'utf8', highWaterMark: 1 << 20 });
  try {
    for await (const chunk of stream as AsyncIterable<string>) {
      carry += chunk;
      if (carry.length < pieceChars) continue;
      const cut = safeCut(carry);
      if (cut <= 0) continue;
      yield carry.slice(0, cut);
      carry = carry.slice(cut);
    }
  } catch (e) {
    throw badFile('tokenize', file, `cannot read: ${(e as Error).message}`, e);
  }
  if (carry.length > 0) yield carry;
}

/** The string field `field` of each JSON line (empty lines skipped; a bad line is named). */
export async function* jsonLinesField(file: string, field: string): AsyncGenerator<string> {
  const lines = readline.createInterface({ input: fs.createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
  let n = 0;
  for await (const line of lines) {
    ++n;
    if (line.trim() === '') continue;
    let value: unknown;
    try {
      value = (JSON.parse(line) as Record<string, unknown>)[field];
    } catch (e) {
      throw badFile('tokenize', file, `line ${n}: not JSON (${(e as Error).message})`, e);
    }
    if (typeof value !== 'string') throw badFile('tokenize', file, `line ${n}: field '${field}' is not a string (got ${value === undefined ? 'nothing' : typeof value})`);
    yield value;
  }
}
