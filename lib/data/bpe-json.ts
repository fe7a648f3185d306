// The JSON form of a byte-level BPE in moontrain's order (BpeTokenizer.toJSON / fromJSON in
// bpe.ts): { type: 'byte-bpe', version: 1, vocabSize, merges: [[a, b], ...], specialTokens?:
// [text, ...] } with vocabSize === 256 + merges.length + specialTokens.length (files written
// before special tokens have none). Only moontrain's order has this form; a foreign tokenizer is
// kept as its tokenizer.json.
import { MAX_VOCAB } from './bpe-pairs';
import { checkSpecials } from './bpe-text';
import { describe, invalid } from './errors';

export interface BpeJson {
  type: 'byte-bpe';
  version: 1;
  vocabSize: number;
  merges: [number, number][];
  specialTokens?: string[];
}

/** The merges and special tokens of a JSON form; every field is checked. */
export function parseBpeJson(obj: unknown): { merges: [number, number][]; specials: string[] } {
  const op = 'BpeTokenizer.fromJSON';
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
    throw invalid(op, 'obj', "an object { type: 'byte-bpe', version: 1, vocabSize, merges }", describe(obj));
  }
  const o = obj as Record<string, unknown>;
  if (o.type !== 'byte-bpe') throw invalid(op, 'obj.type', "'byte-bpe'", describe(o.type));
  if (o.version !== 1) throw invalid(op, 'obj.version', '1', describe(o.version));
  const merges = o.merges;
  if (!Array.isArray(merges)) throw invalid(op, 'obj.merges', 'an array of [a, b] pairs', describe(merges));
  const specials = checkSpecials(op, 'obj.specialTokens', o.specialTokens ?? []);
  if (o.vocabSize !== 256 + merges.length + specials.length) {
    throw invalid(op, 'obj.vocabSize', `256 + merges.length + specialTokens.length = ${256 + merges.length + specials.length}`, describe(o.vocabSize));
  }
  if (256 + merges.length > MAX_VOCAB) throw invalid(op, 'obj.merges', `at most ${MAX_VOCAB - 256} merges`, `${merges.length}`);
  const seen = new Set<number>();
  const list: [number, number][] = [];
  merges.forEach((m: unknown, i) => {
    const limit = 256 + i - 1;
    if (
      !Array.isArray(m) ||
      m.length !== 2 ||
      !m.every((v: unknown) => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= limit)
    ) {
      throw invalid(op, `obj.merges[${i}]`, `a pair [a, b] of token ids in [0, ${limit}] (earlier tokens)`, Array.isArray(m) ? JSON.stringify(m) : describe(m));
    }
    const key = m[0] * MAX_VOCAB + m[1];
    if (seen.has(key)) throw invalid(op, `obj.merges[${i}]`, 'a pair not merged before', `a repeat of [${m[0]}, ${m[1]}]`);
    seen.add(key);
    list.push([m[0], m[1]]);
  });
  return { merges: list, specials };
}
