// The word-level comparison with Bengio et al. 2003: the closed vocabulary with their rare-word
// rule, and the interpolated modified Kneser–Ney trigram (a proper distribution for every
// context, Chen & Goodman's discounts, continuation counts), checked on small streams.
import test from 'ava';
import { WordTokenizer } from '../../lib/data/word-tokenizer';
import { KneserNeyTrigram } from '../../lib/ngram/kneser-ney';
import { mulberry32 } from '../helpers/ref';

test('word tokenizer: words seen >= minCount times, the rest <unk>; ids by frequency then text', (t) => {
  const tok = WordTokenizer.train('b a b c a b d d d d ,\n, , , . e', { minCount: 3 });
  t.deepEqual(tok.toJSON().words, [',', 'd', 'b']);
  t.deepEqual([...tok.encode('b  d\nzzz , a')], [3, 2, 0, 1, 0]);
  t.is(tok.decode(tok.encode('d , b')), 'd , b');
  t.is(tok.vocabSize, 4);
  t.deepEqual(WordTokenizer.fromJSON(JSON.parse(JSON.stringify(tok))).encode('b d a'), tok.encode('b d a'));
  t.throws(() => WordTokenizer.fromJSON({ type: 'word', version: 1, words: ['a', 'a'] }), { message: /distinct words/ });
  t.throws(() => tok.decode([4]), { message: /'ids\[0\]': expected a token id in \[0, 3\]/ });
});

function stream(seed: number, n: number, V: number): Int32Array {
  const rng = mulberry32(seed);
  // Zipf-like, with some structure: the next word often depends on the previous one.
  const out = new Int32Array(n);
  for (let i = 0; i < n; ++i) out[i] = rng() < 0.4 && i > 0 ? (out[i - 1]! * 7 + 3) % V : Math.floor(V * rng() ** 3);
  return out;
}

test('Kneser–Ney: every context (seen, unseen, stream start) gives a distribution that sums to 1', (t) => {
  const V = 40;
  const lm = new KneserNeyTrigram(stream(1, 3000, V), V);
  const rng = mulberry32(9);
  for (let k = 0; k < 60; ++k) {
    const u = k < 5 ? -1 : Math.floor(rng() * V), v = k < 2 ? -1 : Math.floor(rng() * V);
    let sum = 0;
    for (let w = 0; w < V; ++w) {
      const p = lm.probability(u, v, w);
      t.true(p > 0 && p < 1, `P(${w} | ${u} ${v}) = ${p}`);
      sum += p;
    }
    t.true(Math.abs(sum - 1) < 1e-12, `context (${u}, ${v}): sum ${sum}`);
  }
});

/**
 * Chen & Goodman's interpolated modified Kneser–Ney, written from the definitions by scanning the
 * stream for each query (sets of distinct left neighbours, no shared code with the model).
 */
function referenceKn(tokens: Int32Array, V: number) {
  const tri: string[] = [];
  for (let i = 2; i < tokens.length; ++i) tri.push(`${tokens[i - 2]} ${tokens[i - 1]} ${tokens[i]}`);
  const triCount = new Map<string, number>();
  for (const g of tri) triCount.set(g, (triCount.get(g) ?? 0) + 1);
  // Continuation counts: distinct words before each bigram / word; a start symbol precedes the stream.
  const left = new Map<string, Set<string>>();
  const addLeft = (gram: string, before: string) => left.set(gram, (left.get(gram) ?? new Set()).add(before));
  addLeft(`${tokens[0]} ${tokens[1]}`, '<s>');
  addLeft(`${tokens[0]}`, '<s>');
  for (let i = 1; i < tokens.length; ++i) addLeft(`${tokens[i]}`, `${tokens[i - 1]}`);
  for (let i = 2; i < tokens.length; ++i) addLeft(`${tokens[i - 1]} ${tokens[i]}`, `${tokens[i - 2]}`);
  const biCount = new Map([...left].filter(([k]) => k.includes(' ')).map(([k, v]) => [k, v.size]));
  const uniCount = new Map([...left].filter(([k]) => !k.includes(' ')).map(([k, v]) => [k, v.size]));
  const discounts = (counts: Iterable<number>) => {
    const n = [0, 0, 0, 0, 0];
    for (const c of counts) if (c <= 4) n[c]! += 1;
    // Undefined when a count of counts is 0 (few types): then fixed discounts 0.5, 1, 1.5.
    if (n.slice(1).includes(0)) return [0, 0.5, 1, 1.5];
    const y = n[1]! / (n[1]! + 2 * n[2]!);
    const d = [0, 1 - (2 * y * n[2]!) / n[1]!, 2 - (3 * y * n[3]!) / n[2]!, 3 - (4 * y * n[4]!) / n[3]!];
    return d.map((x, k) => Math.min(k, Math.max(0, x)));
  };
  const level = (counts: Map<string, number>, history: string, w: number, lower: number, D: number[]) => {
    let total = 0, mass = 0;
    for (const [g, c] of counts) {
      const parts = g.split(' ');
      if (parts.slice(0, -1).join(' ') !== history) continue;
      total += c;
      mass += D[Math.min(c, 3)]!;
    }
    if (total === 0) return lower;
    const c = counts.get(history === '' ? `${w}` : `${history} ${w}`) ?? 0;
    return (c - (c ? D[Math.min(c, 3)]! : 0)) / total + (mass / total) * lower;
  };
  const [d3, d2, d1] = [discounts(triCount.values()), discounts(biCount.values()), discounts(uniCount.values())];
  return (u: number, v: number, w: number) => {
    const pUni = level(uniCount, '', w, 1 / V, d1);
    const pBi = level(biCount, `${v}`, w, pUni, d2);
    return level(triCount, `${u} ${v}`, w, pBi, d3);
  };
}

test('Kneser–Ney agrees with a reference written from the definitions', (t) => {
  const V = 30;
  const train = stream(2, 4000, V);
  const lm = new KneserNeyTrigram(train, V);
  const ref = referenceKn(train, V);
  const rng = mulberry32(5);
  for (let k = 0; k < 200; ++k) {
    // Half the queries from seen trigrams, half random.
    const i = 2 + Math.floor(rng() * (train.length - 2));
    const [u, v, w] = k % 2 ? [train[i - 2]!, train[i - 1]!, train[i]!] : [0, 1, 2].map(() => Math.floor(rng() * V)) as [number, number, number];
    const a = lm.probability(u, v, w), b = ref(u, v, w);
    t.true(Math.abs(a - b) <= 1e-12 * b, `P(${w} | ${u} ${v}): ${a} vs reference ${b}`);
  }
  const held = stream(3, 3000, V);
  const ce = lm.crossEntropy(held);
  t.true(ce < Math.log(V) && ce > lm.crossEntropy(train), `held-out ${ce} nats: below uniform ${Math.log(V)}, above the training stream's`);
});
