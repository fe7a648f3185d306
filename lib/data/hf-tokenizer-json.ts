// A BpeTokenizer in the Hugging Face tokenizers format (tokenizer.json): model BPE with vocab
// and merges, the ByteLevel pre-tokenizer (GPT-2's pattern, no prefix space) and the ByteLevel
// decoder, so that transformers / tokenizers load a checkpoint's tokenizer as it is.
//
// Byte-level token strings map each byte to one printable character (GPT-2's bytes_to_unicode);
// moontrain's id b < 256 is byte b, and id 256 + i is merges[i].
import { BpeTokenizer } from './bpe';
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

function tokenString(tok: BpeTokenizer, id: number): string {
  let s = '';
  for (const b of tok.tokenBytes(id)) s += BYTE_CHARS[b];
  return s;
}

/** The tokenizer.json text of a byte-level BPE tokenizer. */
export function toHfTokenizerJson(tok: BpeTokenizer): string {
  const vocab: Record<string, number> = {};
  const names: string[] = [];
  for (let id = 0; id < tok.vocabSize; id++) {
    const s = tokenString(tok, id);
    // Two merges that spell the same bytes would share one entry; the format cannot hold that.
    if (s in vocab) throw new Error(`toHfTokenizerJson: tokens ${vocab[s]} and ${id} spell the same bytes; tokenizer.json cannot hold both`);
    vocab[s] = id;
    names.push(s);
  }
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: true };
  return JSON.stringify({
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [],
    normalizer: null,
    pre_tokenizer: byteLevel,
    post_processor: null,
    decoder: byteLevel,
    model: {
      type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null,
      fuse_unk: false, byte_fallback: false, ignore_merges: false,
      vocab,
      merges: tok.merges.map(([a, b]) => [names[a]!, names[b]!]),
    },
  });
}

/** Reads tokenizer.json text written by toHfTokenizerJson back into a BpeTokenizer. */
export function fromHfTokenizerJson(text: string, file: string): BpeTokenizer {
  const op = 'tokenizer.json';
  const fail = (what: string): never => {
    throw badFile(op, file, what);
  };
  let j: { model?: { type?: string; vocab?: Record<string, number>; merges?: unknown[] } };
  try {
    j = JSON.parse(text);
  } catch (e) {
    return fail(`not JSON: ${(e as Error).message}`);
  }
  const m = j.model;
  if (!m || m.type !== 'BPE' || typeof m.vocab !== 'object' || !Array.isArray(m.merges)) return fail('expected a byte-level BPE model with vocab and merges');
  const vocab = m.vocab!;
  for (let b = 0; b < 256; b++) if (vocab[BYTE_CHARS[b]!] !== b) fail(`expected byte ${b} as id ${b}, got ${vocab[BYTE_CHARS[b]!]}`);
  const merges: [number, number][] = m.merges!.map((pair, i) => {
    const [l, r] = Array.isArray(pair) ? pair : String(pair).split(' ');
    const a = vocab[l as string], b = vocab[r as string], id = vocab[`${l}${r}`];
    if (a === undefined || b === undefined || id !== 256 + i) fail(`merge ${i} (${JSON.stringify(pair)}): expected two known tokens that make token ${256 + i}`);
    return [a!, b!];
  });
  if (Object.keys(vocab).length !== 256 + merges.length) fail(`expected ${256 + merges.length} tokens (256 bytes + one per merge), got ${Object.keys(vocab).length}`);
  return BpeTokenizer.fromJSON({ type: 'byte-bpe', version: 1, vocabSize: 256 + merges.length, merges });
}
