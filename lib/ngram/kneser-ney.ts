// An interpolated modified Kneser–Ney trigram (Chen & Goodman 1998, "An Empirical Study of
// Smoothing Techniques for Language Modeling", §3.5/§4.1.6): three discounts per order from that
// order's count-of-counts; the bigram and unigram levels use continuation counts (how many
// distinct words precede); the unigram level is interpolated with the uniform distribution, so
// every word of the vocabulary has a probability. The baseline beside Bengio et al. 2003's table.

interface Level {
  /** count of (history, word), keyed history * V + word */
  counts: Map<number, number>;
  /** per history: total count, and how many words follow it once, twice, three times or more */
  histories: Map<number, { total: number; n1: number; n2: number; n3: number }>;
  /** D1, D2, D3+ */
  discounts: [number, number, number];
}

function discountsOf(counts: Iterable<number>): [number, number, number] {
  const n = [0, 0, 0, 0, 0];
  for (const c of counts) if (c <= 4) n[c]! += 1;
  const [, n1, n2, n3, n4] = n as [number, number, number, number, number];
  // Chen & Goodman's estimate is undefined when a count of counts is 0 (few types): fixed discounts then.
  if (n1 === 0 || n2 === 0 || n3 === 0 || n4 === 0) return [0.5, 1, 1.5];
  const y = n1 / (n1 + 2 * n2);
  const clamp = (d: number, most: number) => Math.min(most, Math.max(0, d));
  return [clamp(1 - (2 * y * n2) / n1, 1), clamp(2 - (3 * y * n3) / n2, 2), clamp(3 - (4 * y * n4) / n3, 3)];
}

function level(counts: Map<number, number>, V: number): Level {
  const histories = new Map<number, { total: number; n1: number; n2: number; n3: number }>();
  for (const [key, c] of counts) {
    const h = Math.floor(key / V);
    const s = histories.get(h) ?? { total: 0, n1: 0, n2: 0, n3: 0 };
    s.total += c;
    if (c === 1) s.n1 += 1;
    else if (c === 2) s.n2 += 1;
    else s.n3 += 1;
    histories.set(h, s);
  }
  return { counts, histories, discounts: discountsOf(counts.values()) };
}

export class KneserNeyTrigram {
  readonly vocabSize: number;
  private readonly tri: Level;
  private readonly bi: Level;
  private readonly uni: Level;

  /** Counts the trigrams of a token stream (ids in [0, vocabSize)). */
  constructor(tokens: ArrayLike<number>, vocabSize: number) {
    const V = (this.vocabSize = vocabSize);
    if (V ** 3 > Number.MAX_SAFE_INTEGER) throw new Error(`KneserNeyTrigram: vocabulary ${V} too large for exact keys`);
    for (let i = 0; i < tokens.length; ++i)
      if (!Number.isInteger(tokens[i]) || tokens[i]! < 0 || tokens[i]! >= V) throw new Error(`KneserNeyTrigram: tokens[${i}] = ${tokens[i]} is not in [0, ${V})`);
    const tri = new Map<number, number>();
    for (let i = 2; i < tokens.length; ++i) {
      const k = (tokens[i - 2]! * V + tokens[i - 1]!) * V + tokens[i]!;
      tri.set(k, (tri.get(k) ?? 0) + 1);
    }
    // Continuation counts: distinct left neighbours of each bigram and of each word. The stream's
    // first bigram and first two words have no left neighbour and count once, as if preceded by a
    // start symbol.
    const bi = new Map<number, number>();
    for (const k of tri.keys()) {
      const vw = k % (V * V);
      bi.set(vw, (bi.get(vw) ?? 0) + 1);
    }
    if (tokens.length >= 2) bi.set(tokens[0]! * V + tokens[1]!, (bi.get(tokens[0]! * V + tokens[1]!) ?? 0) + 1);
    const uni = new Map<number, number>();
    for (const k of bi.keys()) uni.set(k % V, (uni.get(k % V) ?? 0) + 1);
    if (tokens.length >= 1) uni.set(tokens[0]!, (uni.get(tokens[0]!) ?? 0) + 1);
    this.tri = level(tri, V);
    this.bi = level(bi, V);
    this.uni = level(uni, V);
  }

  private interpolate(l: Level, h: number, w: number, lower: number): number {
    const s = l.histories.get(h);
    if (!s) return lower;
    const c = l.counts.get(h * this.vocabSize + w) ?? 0;
    const [d1, d2, d3] = l.discounts;
    const d = c === 0 ? 0 : c === 1 ? d1 : c === 2 ? d2 : d3;
    const gamma = (d1 * s.n1 + d2 * s.n2 + d3 * s.n3) / s.total;
    return (c - d) / s.total + gamma * lower;
  }

  /** P(w | u v); u or v < 0 means no such history word (the start of the stream). */
  probability(u: number, v: number, w: number): number {
    const pUni = this.interpolate(this.uni, 0, w, 1 / this.vocabSize);
    if (v < 0) return pUni;
    const pBi = this.interpolate(this.bi, v, w, pUni);
    return u < 0 ? pBi : this.interpolate(this.tri, u * this.vocabSize + v, w, pBi);
  }

  /** Mean negative log-probability (nats) of every token of a stream; exp of it is the perplexity per token. */
  crossEntropy(tokens: ArrayLike<number>): number {
    let sum = 0;
    for (let i = 0; i < tokens.length; ++i) sum -= Math.log(this.probability(i >= 2 ? tokens[i - 2]! : -1, i >= 1 ? tokens[i - 1]! : -1, tokens[i]!));
    return sum / tokens.length;
  }
}
