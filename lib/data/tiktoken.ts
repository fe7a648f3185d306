// A tiktoken BPE ranks file (`tiktoken.model`: one "<base64 token bytes> <rank>" per line, the
// format of Moonlight's and Kimi's tokenizers) with its pre-tokenizer pattern. A token's id is its
// rank; a chunk of text is encoded by repeatedly merging the adjacent pair of parts whose joined
// bytes have the lowest rank, as tiktoken does.
import * as fs from 'fs';
import { badFile, checkInt, checkPath, describe, invalid } from './errors';
import { readFileNamed } from './read-file';

/**
 * Moonlight's pre-tokenizer (tokenization_moonshot.py's pat_str), written for JavaScript: Python
 * regex's `[X&&[^\p{Han}]]` is the `v` flag's `[X--\p{Script=Han}]`, and the case-insensitive
 * group `(?i:'s|'t|...)` is spelled out, since Node 20 has no inline flags.
 */
const letters = (classes: string) => String.raw`[[${classes}]--\p{Script=Han}]`;
const upper = letters(String.raw`\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}`);
const lower = letters(String.raw`\p{Ll}\p{Lm}\p{Lo}\p{M}`);
const contraction = String.raw`(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?`;
export const MOONLIGHT_PATTERN = [
  String.raw`\p{Script=Han}+`,
  String.raw`[^\r\n\p{L}\p{N}]?${upper}*${lower}+${contraction}`,
  String.raw`[^\r\n\p{L}\p{N}]?${upper}+${lower}*${contraction}`,
  String.raw`\p{N}{1,3}`,
  String.raw` ?[^\s\p{L}\p{N}]+[\r\n]*`,
  String.raw`\s*[\r\n]+`,
  String.raw`\s+(?!\S)`,
  String.raw`\s+`,
].join('|');

export interface TiktokenOptions {
  /** The pre-tokenizer as a JavaScript pattern (compiled with the `gv` flags); Moonlight's by default. */
  pattern?: string;
  /** Special tokens (text -> id), decoded but never produced from plain text. */
  specialTokens?: Record<string, number>;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
/** Bytes as a Map key: one char per byte. */
const key = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');

export class TiktokenTokenizer {
  /** One more than the largest id (ranks and special tokens). */
  readonly vocabSize: number;
  readonly specialTokens: Readonly<Record<string, number>>;
  private readonly rankOf: Map<string, number>;
  private readonly bytesOf = new Map<number, Uint8Array>();
  private readonly pattern: RegExp;

  constructor(ranks: Map<string, number>, options: TiktokenOptions = {}) {
    const op = 'TiktokenTokenizer';
    this.rankOf = ranks;
    for (const [k, rank] of ranks) this.bytesOf.set(rank, Uint8Array.from(Buffer.from(k, 'latin1')));
    for (let b = 0; b < 256; ++b)
      if (!ranks.has(String.fromCharCode(b))) throw invalid(op, 'ranks', 'a rank for each of the 256 single bytes', `none for byte ${b}`);
    const specials = options.specialTokens ?? {};
    for (const [text, id] of Object.entries(specials)) {
      checkInt(op, `specialTokens[${JSON.stringify(text)}]`, id, 0);
      if (this.bytesOf.has(id)) throw invalid(op, `specialTokens[${JSON.stringify(text)}]`, 'an id no rank uses', `${id}, the rank of another token`);
      this.bytesOf.set(id, encoder.encode(text));
    }
    this.specialTokens = { ...specials };
    this.vocabSize = Math.max(...this.bytesOf.keys()) + 1;
    try {
      this.pattern = new RegExp(options.pattern ?? MOONLIGHT_PATTERN, 'gv');
    } catch (e) {
      throw invalid(op, 'options.pattern', 'a JavaScript regular expression (v flag)', `${describe(options.pattern)}: ${(e as Error).message}`);
    }
  }

  /** Reads a ranks file; every line is checked, and a bad one is named. */
  static load(file: string, options: TiktokenOptions = {}): TiktokenTokenizer {
    const op = 'TiktokenTokenizer.load';
    checkPath(op, 'file', file);
    const text = readFileNamed(op, file).toString('utf8');
    const ranks = new Map<string, number>();
    const seen = new Set<number>();
    text.split('\n').forEach((line, i) => {
      if (line === '') return;
      const m = /^([A-Za-z0-9+/]+={0,2}) (\d+)$/.exec(line);
      if (!m) throw badFile(op, file, `line ${i + 1}: expected "<base64 bytes> <rank>", got ${JSON.stringify(line.slice(0, 60))}`);
      const bytes = Buffer.from(m[1]!, 'base64');
      const rank = Number(m[2]);
      const k = bytes.toString('latin1');
      if (bytes.length === 0 || ranks.has(k) || seen.has(rank) || !Number.isSafeInteger(rank))
        throw badFile(op, file, `line ${i + 1}: a repeated or empty token, or a repeated rank (${rank})`);
      ranks.set(k, rank);
      seen.add(rank);
    });
    try {
      return new TiktokenTokenizer(ranks, options);
    } catch (e) {
      throw badFile(op, file, (e as Error).message.replace(/^TiktokenTokenizer: /, ''), e);
    }
  }

  /** The token ids of one pre-tokenized chunk: lowest-rank pair merged first, leftmost on ties. */
  private encodeChunk(bytes: Uint8Array, out: number[]): void {
    const whole = this.rankOf.get(key(bytes));
    if (whole !== undefined) {
      out.push(whole);
      return;
    }
    const parts: Uint8Array[] = Array.from(bytes, (_, i) => bytes.subarray(i, i + 1));
    for (;;) {
      let best = -1, bestRank = Infinity;
      for (let i = 0; i + 1 < parts.length; ++i) {
        const a = parts[i]!, b = parts[i + 1]!;
        const r = this.rankOf.get(key(bytes.subarray(a.byteOffset - bytes.byteOffset, b.byteOffset - bytes.byteOffset + b.length)));
        if (r !== undefined && r < bestRank) (bestRank = r), (best = i);
      }
      if (best < 0) break;
      const a = parts[best]!, b = parts[best + 1]!;
      parts.splice(best, 2, bytes.subarray(a.byteOffset - bytes.byteOffset, b.byteOffset - bytes.byteOffset + b.length));
    }
    for (const p of parts) out.push(this.rankOf.get(key(p))!);
  }

  /** Pre-tokenizer chunks of `text` (exposed for tests and tools). */
  split(text: string): string[] {
    return Array.from(text.matchAll(this.pattern), (m) => m[0]);
  }

  /** Token ids of `text` (special tokens in it are encoded as plain text). */
  encode(text: string): Int32Array {
    if (typeof text !== 'string') throw invalid('TiktokenTokenizer.encode', 'text', 'a string', describe(text));
    const out: number[] = [];
    for (const chunk of this.split(text)) this.encodeChunk(encoder.encode(chunk), out);
    return Int32Array.from(out);
  }

  /** The text of token ids; bytes that are not UTF-8 decode as U+FFFD. */
  decode(ids: ArrayLike<number>): string {
    const parts: Uint8Array[] = [];
    for (let i = 0; i < ids.length; ++i) {
      const b = this.bytesOf.get(ids[i]!);
      if (b === undefined) throw invalid('TiktokenTokenizer.decode', `ids[${i}]`, `a token id of this tokenizer (below ${this.vocabSize})`, describe(ids[i]));
      parts.push(b);
    }
    return decoder.decode(Buffer.concat(parts));
  }
}
