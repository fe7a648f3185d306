// Training of the byte-level BPE's merges (BpeTokenizer.train in bpe.ts): count the chunks once;
// then repeatedly merge the most frequent adjacent pair (counted over chunk occurrences), ties
// broken by the lower pair (a, then b), until the vocabulary has `vocabSize` tokens or the best
// pair occurs fewer than `minFrequency` times (then the vocabulary is smaller: check
// `tokenizer.vocabSize`). Pair counts are updated incrementally from the changes around each
// merged occurrence, and a max-heap with lazy invalidation finds the best pair, so a merge costs
// only the chunks that contain its pair.
import { MAX_VOCAB as K, PairHeap } from './bpe-pairs';
import { CHUNK_PATTERN } from './bpe-text';

const encoder = new TextEncoder();

/** Merges learnt from the texts between special tokens (a merge never crosses one). */
export function trainMerges(pieces: string[], vocabSize: number, minFrequency: number): [number, number][] {
  // Distinct chunks and their frequencies.
  const chunkFreq = new Map<string, number>();
  for (const text of pieces) {
    CHUNK_PATTERN.lastIndex = 0;
    for (let m = CHUNK_PATTERN.exec(text); m !== null; m = CHUNK_PATTERN.exec(text)) {
      const c = m[0];
      chunkFreq.set(c, (chunkFreq.get(c) ?? 0) + 1);
    }
  }
  const words: Int32Array[] = [];
  const lens: number[] = [];
  const freqs: number[] = [];
  for (const [chunk, f] of chunkFreq) {
    const bytes = encoder.encode(chunk);
    if (bytes.length < 2) continue; // a single byte has no pair
    words.push(Int32Array.from(bytes));
    lens.push(bytes.length);
    freqs.push(f);
  }
  chunkFreq.clear();

  // Pair counts and, for each pair, the words that (may) contain it.
  const counts = new Map<number, number>();
  const where = new Map<number, Set<number>>();
  const addWhere = (key: number, w: number): void => {
    let s = where.get(key);
    if (!s) where.set(key, (s = new Set()));
    s.add(w);
  };
  for (let w = 0; w < words.length; w++) {
    const ids = words[w]!;
    const f = freqs[w]!;
    for (let i = 0; i + 1 < lens[w]!; i++) {
      const key = ids[i]! * K + ids[i + 1]!;
      counts.set(key, (counts.get(key) ?? 0) + f);
      addWhere(key, w);
    }
  }
  const heap = new PairHeap(true);
  for (const [key, c] of counts) heap.push(c, key);

  const merges: [number, number][] = [];
  const top = { priority: 0, key: 0 };
  const delta = new Map<number, number>();
  const add = (key: number, d: number): void => {
    delta.set(key, (delta.get(key) ?? 0) + d);
  };
  while (256 + merges.length < vocabSize && heap.size > 0) {
    heap.pop(top);
    const count = top.priority;
    const key = top.key;
    if (counts.get(key) !== count) continue; // stale entry: the count changed since it was pushed
    if (count < minFrequency) break;
    const a = Math.floor(key / K);
    const b = key % K;
    const x = 256 + merges.length;
    merges.push([a, b]);

    // Merge every occurrence, left to right, in place; record the pair-count changes around each.
    delta.clear();
    const ws = where.get(key);
    where.delete(key);
    counts.delete(key);
    for (const w of ws ?? []) {
      const ids = words[w]!;
      const len = lens[w]!;
      const f = freqs[w]!;
      let i = 0;
      let j = 0;
      while (i < len) {
        if (i + 1 < len && ids[i] === a && ids[i + 1] === b) {
          if (j > 0) {
            const l = ids[j - 1]!; // already-merged left neighbour (maybe x itself)
            add(l * K + a, -f);
            add(l * K + x, f);
            addWhere(l * K + x, w);
          }
          if (i + 2 < len) {
            const r = ids[i + 2]!; // right neighbour, not merged yet
            add(b * K + r, -f);
            add(x * K + r, f);
            addWhere(x * K + r, w);
          }
          ids[j++] = x;
          i += 2;
        } else {
          ids[j++] = ids[i++]!;
        }
      }
      lens[w] = j;
    }
    for (const [k, d] of delta) {
      if (d === 0 || k === key) continue;
      const c = (counts.get(k) ?? 0) + d;
      if (c > 0) {
        counts.set(k, c);
        heap.push(c, k);
      } else {
        counts.delete(k);
      }
    }
  }
  return merges;
}
