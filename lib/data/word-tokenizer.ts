// A closed-vocabulary word tokenizer, as Bengio et al. 2003 used on Brown: a token is a
// whitespace-separated word (punctuation tokens included), the vocabulary is every word of the
// training text seen more than `minCount - 1` times, and all rarer words (and words never seen)
// become one symbol, `<unk>` (id 0). Ids follow frequency (most frequent first), ties by text.
import { checkInt, describe, invalid } from './errors';

export const UNK = '<unk>';

export interface WordTokenizerJson {
  type: 'word';
  version: 1;
  /** The words of ids 1, 2, ... (id 0 is <unk>). */
  words: string[];
}

export class WordTokenizer {
  readonly vocabSize: number;
  private readonly idOf: Map<string, number>;
  private readonly words: readonly string[];

  private constructor(words: string[]) {
    this.words = [UNK, ...words];
    this.idOf = new Map(this.words.map((w, i) => [w, i]));
    this.vocabSize = this.words.length;
  }

  /** Words of `text` seen at least `minCount` times (Bengio et al.: frequency <= 3 is rare, so 4). */
  static train(text: string, options: { minCount?: number } = {}): WordTokenizer {
    if (typeof text !== 'string') throw invalid('WordTokenizer.train', 'text', 'a string', describe(text));
    const minCount = checkInt('WordTokenizer.train', 'options.minCount', options.minCount ?? 4, 1);
    const counts = new Map<string, number>();
    for (const w of words(text)) counts.set(w, (counts.get(w) ?? 0) + 1);
    counts.delete(UNK);
    const kept = [...counts].filter(([, c]) => c >= minCount).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
    return new WordTokenizer(kept.map(([w]) => w));
  }

  encode(text: string): Int32Array {
    if (typeof text !== 'string') throw invalid('WordTokenizer.encode', 'text', 'a string', describe(text));
    return Int32Array.from(words(text), (w) => this.idOf.get(w) ?? 0);
  }

  /** The words of the ids, joined by single spaces (the text's own whitespace is not kept). */
  decode(ids: ArrayLike<number>): string {
    return Array.from(ids, (id, i) => {
      const w = this.words[id];
      if (w === undefined) throw invalid('WordTokenizer.decode', `ids[${i}]`, `a token id in [0, ${this.vocabSize - 1}]`, describe(id));
      return w;
    }).join(' ');
  }

  toJSON(): WordTokenizerJson {
    return { type: 'word', version: 1, words: this.words.slice(1) };
  }

  static fromJSON(obj: unknown): WordTokenizer {
    const o = obj as Partial<WordTokenizerJson> | null;
    if (typeof o !== 'object' || o === null || o.type !== 'word' || o.version !== 1 || !Array.isArray(o.words) || !o.words.every((w) => typeof w === 'string' && w !== '' && !/\s/.test(w)))
      throw invalid('WordTokenizer.fromJSON', 'obj', "{ type: 'word', version: 1, words: [non-empty words without whitespace] }", describe(obj));
    if (new Set(o.words).size !== o.words.length || o.words.includes(UNK)) throw invalid('WordTokenizer.fromJSON', 'obj.words', `distinct words other than ${UNK}`, 'a repeat');
    return new WordTokenizer(o.words);
  }
}

function* words(text: string): Generator<string> {
  for (const m of text.matchAll(/\S+/g)) yield m[0];
}
