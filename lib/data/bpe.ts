// A byte-level BPE tokenizer (GPT-2 style), trained and run with no dependency.
//
// Vocabulary (moontrain's order): ids 0..255 are the bytes of UTF-8; id 256 + i is merges[i] =
// [a, b], the concatenation of tokens a and b (a, b < 256 + i); special tokens (e.g. the
// end-of-text token `<|endoftext|>`) take the last ids, after the merges. Any text encodes (every
// byte is a token) and decode(encode(s)) === s for every well-formed string (one without lone
// surrogates, i.e. every string that has a UTF-8 form; ill-formed ones are refused, never silently
// changed). A tokenizer read from a foreign tokenizer.json (hf-tokenizer-json.ts) keeps that file's
// ids: each byte, each merge's result and each added token has the id the file gives it.
//
// Special tokens: encode() matches their text anywhere in its input (longest first), as Hugging
// Face tokenizers does with added tokens, and gives their id; merges never touch their text.
// decode() writes their text.
//
// The text is cut into GPT-2's chunks first (bpe-text.ts); merges never cross a chunk boundary.
// Training is in bpe-train.ts, the JSON form in bpe-json.ts.
//
// Encoding applies the merges to each chunk in rank order (the lowest-ranked adjacent pair first,
// leftmost first among equals), which gives exactly what training's sequential merges give;
// results are cached per distinct chunk.
import { writeFileAtomic } from '../io/atomic';
import { MAX_VOCAB, PairHeap } from './bpe-pairs';
import { parseBpeJson, type BpeJson } from './bpe-json';
import { CHUNK_PATTERN, checkSpecials, checkText, END_OF_TEXT, splitOn } from './bpe-text';
import { trainMerges } from './bpe-train';
import { badFile, checkInt, checkPath, describe, invalid } from './errors';
import { readFileNamed } from './read-file';

export { MAX_VOCAB } from './bpe-pairs';
export type { BpeJson } from './bpe-json';
export { END_OF_TEXT, preTokenize } from './bpe-text';

const K = MAX_VOCAB;
/** Distinct chunks kept in the encode cache before it is cleared. */
const CACHE_LIMIT = 1 << 18;

export interface BpeTrainOptions {
  /** Target vocabulary size, special tokens included: 256 + specialTokens.length (bytes only) to 2^24. */
  vocabSize: number;
  /** Stop early when the most frequent pair occurs fewer times than this (default 2). */
  minFrequency?: number;
  /** Special tokens, given the last ids in this order (default none; moontrain's data uses [END_OF_TEXT]). */
  specialTokens?: string[];
}

/** A token matched in the text before pre-tokenization (Hugging Face's added tokens). */
export interface AddedToken {
  id: number;
  content: string;
  /** Special (end-of-text, padding, ...) rather than an added word. */
  special: boolean;
}

/** A byte-level BPE with any ids (as a tokenizer.json gives them). */
export interface BpeParts {
  /** The id of each byte 0..255. */
  byteIds: ArrayLike<number>;
  /** Merges in rank order: [left id, right id, id of the result]. */
  merges: [number, number, number][];
  /** Tokens outside the merges' reach that still decode (id -> bytes), e.g. unused vocabulary. */
  extra?: Map<number, Uint8Array>;
  added?: AddedToken[];
  /** A chunk that is a whole token is that token, merges or not (Hugging Face's ignore_merges). */
  ignoreMerges?: boolean;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { ignoreBOM: true });

function push(out: { ids: Int32Array; n: number }, ids: Int32Array): void {
  if (out.n + ids.length > out.ids.length) {
    const bigger = new Int32Array(Math.max(out.ids.length * 2, out.n + ids.length));
    bigger.set(out.ids.subarray(0, out.n));
    out.ids = bigger;
  }
  out.ids.set(ids, out.n);
  out.n += ids.length;
}

export class BpeTokenizer {
  /** Number of ids: one more than the largest (256 + merges + special tokens in moontrain's order). */
  readonly vocabSize: number;
  /** The id of END_OF_TEXT when the tokenizer has it as a special token. */
  readonly endOfTextId: number | undefined;
  /** Merges in rank order: left id, right id, id of the result. */
  private readonly mergeList: readonly (readonly [number, number, number])[];
  private readonly byteIds: Int32Array;
  /** Pair key -> merge rank. */
  private readonly ranks: Map<number, number>;
  /** The bytes of each id (undefined: an id no token has). */
  private readonly bytesOf: (Uint8Array | undefined)[];
  private readonly added: readonly AddedToken[];
  /** Matches any added token's text, longest first; null without added tokens. */
  private readonly addedPattern: RegExp | null;
  private readonly addedIds: Map<string, number>;
  /** ignore_merges: a chunk's bytes (latin1 string) -> the token that spells it whole. */
  private readonly whole: Map<string, number> | null;
  private readonly cache = new Map<string, Int32Array>();
  private readonly heap = new PairHeap(false);

  private constructor(parts: BpeParts) {
    const op = 'BpeTokenizer';
    this.byteIds = Int32Array.from(parts.byteIds);
    this.mergeList = parts.merges.map(([a, b, x]) => [a, b, x] as const);
    this.added = (parts.added ?? []).map((t) => ({ ...t }));
    this.ranks = new Map();
    this.bytesOf = [];
    for (let b = 0; b < 256; b++) this.bytesOf[this.byteIds[b]!] = Uint8Array.of(b);
    for (const [id, bytes] of parts.extra ?? []) this.bytesOf[id] ??= bytes;
    this.mergeList.forEach(([a, b, x], i) => {
      this.ranks.set(a * K + b, i);
      const ba = this.bytesOf[a], bb = this.bytesOf[b];
      if (!ba || !bb) throw invalid(op, `merges[${i}]`, 'a merge of two tokens made by bytes or earlier merges', `[${a}, ${b}]`);
      const t = new Uint8Array(ba.length + bb.length);
      t.set(ba);
      t.set(bb, ba.length);
      this.bytesOf[x] = t;
    });
    this.addedIds = new Map();
    for (const t of this.added) {
      if (t.content === '') throw invalid(op, 'added', 'added tokens with text', `an empty one (id ${t.id})`);
      this.bytesOf[t.id] = encoder.encode(t.content);
      this.addedIds.set(t.content, t.id);
    }
    this.addedPattern = this.added.length
      ? new RegExp([...this.addedIds.keys()].sort((x, y) => y.length - x.length).map((c) => c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')).join('|'), 'g')
      : null;
    this.endOfTextId = this.added.find((t) => t.special && t.content === END_OF_TEXT)?.id;
    this.vocabSize = this.bytesOf.length;
    this.whole = null;
    if (parts.ignoreMerges) {
      this.whole = new Map();
      this.bytesOf.forEach((b, id) => {
        if (b && !this.addedIds.has(decoder.decode(b))) this.whole!.set(Buffer.from(b).toString('latin1'), id);
      });
    }
  }

  /** moontrain's order: byte b is id b, merge i makes id 256 + i, the special tokens follow. */
  private static ordered(merges: [number, number][], specials: string[]): BpeTokenizer {
    const n = 256 + merges.length;
    return new BpeTokenizer({
      byteIds: Array.from({ length: 256 }, (_, b) => b),
      merges: merges.map(([a, b], i) => [a, b, 256 + i]),
      added: specials.map((content, i) => ({ id: n + i, content, special: true })),
    });
  }

  /**
   * A tokenizer with any ids: each byte's id, the merges in rank order with the ids they make,
   * and added tokens (see BpeParts); hf-tokenizer-json.ts reads tokenizer.json files into this.
   */
  static fromParts(parts: BpeParts): BpeTokenizer {
    return new BpeTokenizer(parts);
  }

  /** True when the ids are moontrain's order (the JSON form then holds the tokenizer). */
  get isMoontrainOrder(): boolean {
    const n = 256 + this.mergeList.length;
    return this.byteIds.every((id, b) => id === b) && this.mergeList.every(([, , x], i) => x === 256 + i) &&
      this.added.every((t, i) => t.special && t.id === n + i) && this.vocabSize === n + this.added.length && this.whole === null;
  }

  /** The added (special) tokens, by id. */
  get addedTokens(): AddedToken[] {
    return this.added.map((t) => ({ ...t })).sort((a, b) => a.id - b.id);
  }

  /** The id of each byte 0..255 (a copy). */
  get byteTokenIds(): number[] {
    return Array.from(this.byteIds);
  }

  /** Whether a chunk that is a whole token is that token (Hugging Face's ignore_merges). */
  get ignoresMerges(): boolean {
    return this.whole !== null;
  }

  /** Learns merges from `text` (see bpe-train.ts). Deterministic. */
  static train(text: string, options: BpeTrainOptions): BpeTokenizer {
    const op = 'BpeTokenizer.train';
    checkText(op, 'text', text);
    if (typeof options !== 'object' || options === null) throw invalid(op, 'options', 'an object { vocabSize, minFrequency?, specialTokens? }', describe(options));
    const specials = checkSpecials(op, 'options.specialTokens', options.specialTokens ?? []);
    const vocabSize = checkInt(op, 'options.vocabSize', options.vocabSize, 256 + specials.length, MAX_VOCAB);
    const minFrequency = options.minFrequency === undefined ? 2 : checkInt(op, 'options.minFrequency', options.minFrequency, 1);
    const pieces = specials.length ? splitOn(text, specials) : [text];
    return BpeTokenizer.ordered(trainMerges(pieces, vocabSize - specials.length, minFrequency), specials);
  }

  /** The merges, in rank order (a copy). */
  get merges(): [number, number][] {
    return this.mergeList.map(([a, b]) => [a, b]);
  }

  /** The merges with the id each makes, in rank order (a copy). */
  get mergeIds(): [number, number, number][] {
    return this.mergeList.map(([a, b, x]) => [a, b, x]);
  }

  /** The bytes of token `id` (a copy). */
  tokenBytes(id: number): Uint8Array {
    checkInt('BpeTokenizer.tokenBytes', 'id', id, 0, this.vocabSize - 1);
    const b = this.bytesOf[id];
    if (!b) throw invalid('BpeTokenizer.tokenBytes', 'id', 'the id of a token', `${id}, which no token has`);
    return b.slice();
  }

  /** Token ids of one chunk's bytes: merges applied lowest rank first, leftmost first. */
  private encodeChunk(bytes: Uint8Array): Int32Array {
    const n = bytes.length;
    const whole = this.whole?.get(Buffer.from(bytes.buffer, bytes.byteOffset, n).toString('latin1'));
    if (whole !== undefined) return Int32Array.of(whole);
    const ids = Int32Array.from(bytes, (b) => this.byteIds[b]!);
    if (n < 2) return ids;
    const next = new Int32Array(n);
    const prev = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      next[i] = i + 1 < n ? i + 1 : -1;
      prev[i] = i - 1;
    }
    const heap = this.heap;
    const ranks = this.ranks;
    for (let i = 0; i + 1 < n; i++) {
      const r = ranks.get(ids[i]! * K + ids[i + 1]!);
      if (r !== undefined) heap.push(r, i);
    }
    let live = n;
    const top = { priority: 0, key: 0 };
    while (heap.size > 0) {
      heap.pop(top);
      const r = top.priority;
      const p = top.key;
      if (ids[p]! < 0) continue;
      const q = next[p]!;
      if (q < 0 || ranks.get(ids[p]! * K + ids[q]!) !== r) continue; // stale
      ids[p] = this.mergeList[r]![2];
      ids[q] = -1;
      live--;
      const nq = next[q]!;
      next[p] = nq;
      if (nq >= 0) prev[nq] = p;
      const pp = prev[p]!;
      if (pp >= 0) {
        const rl = ranks.get(ids[pp]! * K + ids[p]!);
        if (rl !== undefined) heap.push(rl, pp);
      }
      if (nq >= 0) {
        const rr = ranks.get(ids[p]! * K + ids[nq]!);
        if (rr !== undefined) heap.push(rr, p);
      }
    }
    const out = new Int32Array(live);
    for (let i = 0, k = 0; i >= 0; i = next[i]!) out[k++] = ids[i]!;
    return out;
  }

  /** Token ids of `text` (a well-formed string). */
  encode(text: string): Int32Array {
    checkText('BpeTokenizer.encode', 'text', text);
    const out = { ids: new Int32Array(Math.max(16, text.length >> 1)), n: 0 };
    if (this.addedPattern === null) {
      this.encodePlain(text, out);
    } else {
      let from = 0;
      this.addedPattern.lastIndex = 0;
      for (let m = this.addedPattern.exec(text); m !== null; m = this.addedPattern.exec(text)) {
        this.encodePlain(text.slice(from, m.index), out);
        push(out, Int32Array.of(this.addedIds.get(m[0])!));
        from = m.index + m[0].length;
      }
      this.encodePlain(text.slice(from), out);
    }
    return out.ids.slice(0, out.n);
  }

  /** Appends the ids of a text with no added token in it. */
  private encodePlain(text: string, out: { ids: Int32Array; n: number }): void {
    CHUNK_PATTERN.lastIndex = 0;
    for (let m = CHUNK_PATTERN.exec(text); m !== null; m = CHUNK_PATTERN.exec(text)) {
      const chunk = m[0];
      let ids = this.cache.get(chunk);
      if (ids === undefined) {
        ids = this.encodeChunk(encoder.encode(chunk));
        if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
        this.cache.set(chunk, ids);
      }
      push(out, ids);
    }
  }

  /**
   * The text of token ids. A sequence that ends inside a multi-byte character (or any byte
   * sequence that is not UTF-8) decodes with U+FFFD in its place, as TextDecoder does.
   */
  decode(ids: ArrayLike<number>): string {
    const op = 'BpeTokenizer.decode';
    if (typeof ids !== 'object' || ids === null || typeof ids.length !== 'number') {
      throw invalid(op, 'ids', 'an Int32Array or an array of token ids', describe(ids));
    }
    let total = 0;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize || !this.bytesOf[id]) {
        throw invalid(op, `ids[${i}]`, `a token id in [0, ${this.vocabSize - 1}]${this.bytesOf.includes(undefined) ? ' that a token has' : ''}`, describe(id));
      }
      total += this.bytesOf[id]!.length;
    }
    const bytes = new Uint8Array(total);
    for (let i = 0, o = 0; i < ids.length; i++) {
      const b = this.bytesOf[ids[i]!]!;
      bytes.set(b, o);
      o += b.length;
    }
    return decoder.decode(bytes);
  }

  /** The JSON form (moontrain's order only: a foreign tokenizer is kept as its tokenizer.json). */
  toJSON(): BpeJson {
    if (!this.isMoontrainOrder) throw new Error("BpeTokenizer.toJSON: this tokenizer's ids are not moontrain's order; save it as tokenizer.json (toHfTokenizerJson)");
    const specials = this.added.map((t) => t.content);
    return { type: 'byte-bpe', version: 1, vocabSize: this.vocabSize, merges: this.merges, ...(specials.length ? { specialTokens: specials } : {}) };
  }

  /** A tokenizer from its JSON form; every field is checked. */
  static fromJSON(obj: unknown): BpeTokenizer {
    const { merges, specials } = parseBpeJson(obj);
    return BpeTokenizer.ordered(merges, specials);
  }

  /** Writes the JSON form to `file` atomically (temp file + rename). */
  save(file: string): void {
    checkPath('BpeTokenizer.save', 'file', file);
    writeFileAtomic(file, [encoder.encode(`${JSON.stringify(this.toJSON())}\n`)]);
  }

  /** Reads a tokenizer written by save(); a missing or malformed file is an Error naming it. */
  static load(file: string): BpeTokenizer {
    const op = 'BpeTokenizer.load';
    checkPath(op, 'file', file);
    const text = readFileNamed(op, file).toString('utf8');
    let obj: unknown;
    try {
      obj = JSON.parse(text);
    } catch (e) {
      throw badFile(op, file, `not JSON: ${(e as Error).message}`, e);
    }
    try {
      return BpeTokenizer.fromJSON(obj);
    } catch (e) {
      throw badFile(op, file, `not a byte-bpe tokenizer: ${(e as Error).message.replace(/^BpeTokenizer\.fromJSON: /, '')}`, e);
    }
  }
}
