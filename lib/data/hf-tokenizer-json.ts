// A BpeTokenizer in the Hugging Face tokenizers format (tokenizer.json): model BPE with vocab
// and merges, the ByteLevel pre-tokenizer (GPT-2's pattern, no prefix space) and the ByteLevel
// decoder, so that transformers / tokenizers load a checkpoint's tokenizer as it is. Special
// tokens are `added_tokens` (special: true); tokenizer_config.json names the end-of-text token as
// bos and eos (GPT-2's convention).
//
// Byte-level token strings map each byte to one printable character (GPT-2's bytes_to_unicode).
// Reading takes the file's ids as they are (GPT-2's, a model's own, or moontrain's order: byte b
// is id b, merge i is id 256 + i, special tokens last). What the encoder here does not do is
// refused by name: a normalizer, a pre-tokenizer other than ByteLevel with GPT-2's pattern and no
// prefix space, byte fallback, subword prefixes or suffixes, dropout, and added tokens that strip
// whitespace or match single words only.
import { BpeTokenizer, END_OF_TEXT, type AddedToken } from './bpe';
import { badFile } from './errors';

/** GPT-2's bytes_to_unicode: printable bytes stand for themselves, the others are shifted past 255. */
function byteChars(): string[] {
  const printable = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const out: string[] = new Array(256);
  let n = 0;
  for (let b = 0; b < 256; b++) out[b] = String.fromCharCode(printable(b) ? b : 256 + n++);
  return out;
}
const BYTE_CHARS = byteChars();
const BYTE_OF = new Map(BYTE_CHARS.map((c, b) => [c, b]));

function tokenString(tok: BpeTokenizer, id: number): string {
  let s = '';
  for (const b of tok.tokenBytes(id)) s += BYTE_CHARS[b];
  return s;
}

/** The bytes a byte-level token string stands for, or null when a character is not a byte's. */
function stringBytes(s: string): Uint8Array | null {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const b = BYTE_OF.get(s[i]!);
    if (b === undefined) return null;
    out[i] = b;
  }
  return out;
}

/** The tokenizer.json text of a byte-level BPE tokenizer (added tokens are not in the model's vocab). */
export function toHfTokenizerJson(tok: BpeTokenizer): string {
  const vocab: Record<string, number> = {};
  const added = tok.addedTokens;
  const isAdded = new Set(added.map((t) => t.id));
  for (let id = 0; id < tok.vocabSize; id++) {
    if (isAdded.has(id)) continue;
    let s: string;
    try {
      s = tokenString(tok, id);
    } catch {
      continue; // an id no token has
    }
    // Two merges that spell the same bytes would share one entry; the format cannot hold that.
    if (s in vocab) throw new Error(`toHfTokenizerJson: tokens ${vocab[s]} and ${id} spell the same bytes; tokenizer.json cannot hold both`);
    vocab[s] = id;
  }
  const name = (id: number) => tokenString(tok, id);
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: true };
  return JSON.stringify({
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added.map((t) => ({ id: t.id, content: t.content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: t.special })),
    normalizer: null,
    pre_tokenizer: byteLevel,
    post_processor: null,
    decoder: byteLevel,
    model: {
      type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null,
      fuse_unk: false, byte_fallback: false, ignore_merges: tok.ignoresMerges,
      vocab,
      merges: tok.mergeIds.map(([a, b]) => [name(a), name(b)]),
    },
  });
}

/** tokenizer_config.json for transformers' PreTrainedTokenizerFast: the end-of-text token as bos and eos. */
export function hfTokenizerConfigJson(tok: BpeTokenizer, modelMaxLength: number): string {
  const eot = tok.endOfTextId;
  const decoder: Record<string, unknown> = {};
  for (const t of tok.addedTokens) decoder[t.id] = { content: t.content, lstrip: false, normalized: false, rstrip: false, single_word: false, special: t.special };
  return JSON.stringify({
    tokenizer_class: 'PreTrainedTokenizerFast',
    clean_up_tokenization_spaces: false,
    model_max_length: modelMaxLength,
    ...(eot !== undefined ? { bos_token: END_OF_TEXT, eos_token: END_OF_TEXT } : {}),
    added_tokens_decoder: decoder,
  });
}

interface TokenizerJson {
  normalizer?: unknown;
  pre_tokenizer?: { type?: string; add_prefix_space?: boolean; use_regex?: boolean } | null;
  decoder?: { type?: string } | null;
  added_tokens?: unknown[];
  model?: {
    type?: string; vocab?: Record<string, number>; merges?: unknown[]; byte_fallback?: boolean; dropout?: number | null;
    continuing_subword_prefix?: string | null; end_of_word_suffix?: string | null; ignore_merges?: boolean;
  };
}

/** Reads a byte-level BPE tokenizer.json (moontrain's or another's, with its ids) into a BpeTokenizer. */
export function fromHfTokenizerJson(text: string, file: string): BpeTokenizer {
  const op = 'tokenizer.json';
  const fail = (what: string): never => {
    throw badFile(op, file, what);
  };
  let j: TokenizerJson;
  try {
    j = JSON.parse(text);
  } catch (e) {
    return fail(`not JSON: ${(e as Error).message}`);
  }
  const m = j.model;
  if (!m || m.type !== 'BPE' || typeof m.vocab !== 'object' || m.vocab === null || !Array.isArray(m.merges)) return fail('expected a byte-level BPE model with vocab and merges');
  const pre = j.pre_tokenizer;
  if (pre?.type !== 'ByteLevel' || pre.use_regex === false || pre.add_prefix_space === true)
    fail(`expected pre_tokenizer ByteLevel with GPT-2's pattern (use_regex true) and add_prefix_space false, got ${JSON.stringify(pre)}`);
  if (j.decoder && j.decoder.type !== 'ByteLevel') fail(`expected decoder ByteLevel, got ${JSON.stringify(j.decoder.type)}`);
  if (j.normalizer !== null && j.normalizer !== undefined) fail(`expected no normalizer, got ${JSON.stringify(j.normalizer).slice(0, 80)}`);
  if (m.byte_fallback) fail('expected model.byte_fallback false (byte-level tokens cover every byte)');
  if (m.dropout) fail(`expected model.dropout null, got ${m.dropout}`);
  if (m.continuing_subword_prefix || m.end_of_word_suffix) fail('expected no continuing_subword_prefix or end_of_word_suffix');

  const added: AddedToken[] = (j.added_tokens ?? []).map((raw, i) => {
    const t = raw as { id?: unknown; content?: unknown; special?: unknown; lstrip?: unknown; rstrip?: unknown; single_word?: unknown };
    if (!Number.isInteger(t.id) || (t.id as number) < 0 || typeof t.content !== 'string' || t.content === '') fail(`added_tokens[${i}]: expected { id, content }, got ${JSON.stringify(raw)}`);
    if (t.lstrip || t.rstrip || t.single_word) fail(`added_tokens[${i}] (${JSON.stringify(t.content)}): lstrip, rstrip and single_word are not supported`);
    return { id: t.id as number, content: t.content as string, special: t.special === true };
  });
  const addedIds = new Map(added.map((t) => [t.content, t.id]));

  const vocab = m.vocab;
  const idOf = new Map<string, number>();
  const extra = new Map<number, Uint8Array>();
  const used = new Set<number>();
  for (const [s, id] of Object.entries(vocab)) {
    if (!Number.isInteger(id) || id < 0 || id >= 1 << 24) fail(`vocab[${JSON.stringify(s)}]: expected an id in [0, 2^24), got ${JSON.stringify(id)}`);
    if (used.has(id)) fail(`vocab: id ${id} is given to two tokens`);
    used.add(id);
    idOf.set(s, id);
    const bytes = stringBytes(s);
    if (bytes) extra.set(id, bytes);
    else if (addedIds.get(s) !== id) fail(`vocab[${JSON.stringify(s)}]: not a byte-level token (a character outside GPT-2's byte alphabet) and not an added token`);
  }
  const byteIds = BYTE_CHARS.map((c, b) => idOf.get(c) ?? fail(`expected a token for byte ${b} (${JSON.stringify(c)}); byte-level BPE needs all 256`));
  const pairs = new Set<string>();
  const merges = m.merges!.map((pair, i): [number, number, number] => {
    const [l, r] = Array.isArray(pair) ? pair : String(pair).split(' ');
    const a = idOf.get(l as string), b = idOf.get(r as string), x = idOf.get(`${l}${r}`);
    if (a === undefined || b === undefined || x === undefined) return fail(`merge ${i} (${JSON.stringify(pair)}): expected two tokens of the vocab whose concatenation is one too`);
    if (pairs.has(`${a} ${b}`)) fail(`merge ${i} (${JSON.stringify(pair)}): a repeat of an earlier merge`);
    pairs.add(`${a} ${b}`);
    return [a, b, x];
  });
  for (const t of added) if (used.has(t.id) && idOf.get(t.content) !== t.id) fail(`added token ${JSON.stringify(t.content)}: id ${t.id} is another token's in the vocab`);
  return BpeTokenizer.fromParts({ byteIds, merges, extra, added, ignoreMerges: m.ignore_merges === true });
}
