// Byte-level BPE: exact round trips (random Unicode, the Brown val split), training against a
// naive reference (recount every pair at every step), encoding against sequential merges,
// determinism, the vocabulary size, JSON / file round trips with validation, the Brown cache.
import test from 'ava';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { BAD_DATA_FILE, BpeTokenizer, brownSplits, cachedBrownTokenizer, INVALID_ARGUMENT, preTokenize } from '../../lib/data';
import { mulberry32, randInt, type Rng } from '../helpers/ref';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'moontrain-bpe-'));
test.after.always(() => fs.rmSync(root, { recursive: true, force: true }));

const enc = new TextEncoder();

// ---------------------------------------------------------------------------------------------
// references
// ---------------------------------------------------------------------------------------------

/** Naive BPE training: recount every pair of every chunk at every step. */
function naiveTrain(text: string, vocabSize: number, minFrequency = 2): [number, number][] {
  const freq = new Map<string, number>();
  for (const c of preTokenize(text)) freq.set(c, (freq.get(c) ?? 0) + 1);
  const words = [...freq].map(([c, f]) => ({ ids: Array.from(enc.encode(c)), f }));
  const merges: [number, number][] = [];
  while (256 + merges.length < vocabSize) {
    const counts = new Map<string, number>();
    for (const { ids, f } of words) for (let i = 0; i + 1 < ids.length; i++) counts.set(`${ids[i]},${ids[i + 1]}`, (counts.get(`${ids[i]},${ids[i + 1]}`) ?? 0) + f);
    let best: [number, number] | undefined;
    let bestCount = 0;
    for (const [k, c] of counts) {
      const [a, b] = k.split(',').map(Number) as [number, number];
      if (c > bestCount || (c === bestCount && best && (a < best[0] || (a === best[0] && b < best[1])))) {
        best = [a, b];
        bestCount = c;
      }
    }
    if (!best || bestCount < minFrequency) break;
    const x = 256 + merges.length;
    merges.push(best);
    for (const w of words) w.ids = applyMerge(w.ids, best[0], best[1], x);
  }
  return merges;
}

function applyMerge(ids: number[], a: number, b: number, x: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < ids.length; ) {
    if (i + 1 < ids.length && ids[i] === a && ids[i + 1] === b) {
      out.push(x);
      i += 2;
    } else out.push(ids[i++]!);
  }
  return out;
}

/** Encoding by applying every merge, in order, to every chunk. */
function naiveEncode(merges: [number, number][], text: string): number[] {
  const out: number[] = [];
  for (const c of preTokenize(text)) {
    let ids = Array.from(enc.encode(c));
    merges.forEach(([a, b], i) => (ids = applyMerge(ids, a, b, 256 + i)));
    out.push(...ids);
  }
  return out;
}

/** A random well-formed string over many scripts, astral characters, marks and whitespace. */
function randomUnicode(rng: Rng, n: number): string {
  const ranges: [number, number][] = [
    [0x20, 0x7e], [0x20, 0x7e], [0x20, 0x7e], [0x09, 0x0d], [0xa0, 0xff], [0x100, 0x17f], [0x300, 0x36f],
    [0x391, 0x3c9], [0x400, 0x4ff], [0x5d0, 0x5ea], [0x660, 0x669], [0x900, 0x97f], [0x3000, 0x3000],
    [0x3040, 0x30ff], [0x4e00, 0x4e80], [0xac00, 0xac40], [0xfeff, 0xfeff], [0xfff0, 0xfffd],
    [0x1f300, 0x1f64f], [0x1d400, 0x1d4ff], [0x10000, 0x1007f], [0x10fff0, 0x10ffff], [0, 0x1f],
  ];
  let s = '';
  for (let i = 0; i < n; i++) {
    const [lo, hi] = ranges[randInt(rng, 0, ranges.length - 1)]!;
    s += String.fromCodePoint(randInt(rng, lo, hi));
    if (rng() < 0.15) s += ' ';
  }
  return s;
}

const small = (): string => brownSplits().val.slice(0, 30_000);

// ---------------------------------------------------------------------------------------------
// tests
// ---------------------------------------------------------------------------------------------

test('pre-tokenization: GPT-2 chunks that concatenate back to the text', (t) => {
  t.deepEqual(preTokenize("He said, \"it's 1961\"  ok\n\nyes"), ['He', ' said', ',', ' "', 'it', "'s", ' 1961', '"', ' ', ' ok', '\n', '\n', 'yes']);
  const rng = mulberry32(7);
  for (let k = 0; k < 50; k++) {
    const s = randomUnicode(rng, 200);
    t.is(preTokenize(s).join(''), s);
  }
});

test('training matches a naive reference (pairs recounted every step), including repeats and ties', (t) => {
  const rng = mulberry32(3);
  const texts = [
    small(),
    'aaaa aaaa aaa aa a abab ababab babab aaaaaaa bbbbbbb abababab',
    Array.from({ length: 300 }, () => 'ab'.repeat(randInt(rng, 1, 6)) + 'a'.repeat(randInt(rng, 0, 5))).join(' '),
    randomUnicode(rng, 3000),
  ];
  for (const [i, text] of texts.entries()) {
    const V = i === 0 ? 600 : 400;
    const got = BpeTokenizer.train(text, { vocabSize: V });
    t.deepEqual(got.merges, naiveTrain(text, V), `text ${i}: merges`);
    t.deepEqual(BpeTokenizer.train(text, { vocabSize: V, minFrequency: 1 }).merges, naiveTrain(text, V, 1), `text ${i}: minFrequency 1`);
    t.deepEqual(Array.from(got.encode(text)), naiveEncode(got.merges, text), `text ${i}: encode vs sequential merges`);
  }
});

test('encode on unseen text equals sequential merges (long chunks too)', (t) => {
  const tok = BpeTokenizer.train(small(), { vocabSize: 800 });
  const rng = mulberry32(11);
  const unseen = [
    brownSplits().test.slice(0, 20_000),
    'x'.repeat(5000) + ' ' + 'the'.repeat(2000) + ' ' + ' '.repeat(3000) + 'end',
    randomUnicode(rng, 2000),
  ];
  for (const [i, s] of unseen.entries()) t.deepEqual(Array.from(tok.encode(s)), naiveEncode(tok.merges, s), `text ${i}`);
});

test('exact round trip of random Unicode strings (astral, marks, controls, BOM, whitespace)', (t) => {
  const rng = mulberry32(1);
  const tok = BpeTokenizer.train(randomUnicode(rng, 20_000) + small(), { vocabSize: 1000 });
  for (let k = 0; k < 300; k++) {
    const s = (k % 10 === 0 ? '\ufeff' : '') + randomUnicode(rng, randInt(rng, 0, 300));
    const ids = tok.encode(s);
    t.true(ids.every((id) => id >= 0 && id < tok.vocabSize));
    const back = tok.decode(ids);
    if (back !== s) {
      t.fail(`round trip ${k}: ${JSON.stringify(s)} -> ${JSON.stringify(back)}`);
      return;
    }
  }
  t.is(tok.decode(tok.encode('')), '');
  t.deepEqual(Array.from(tok.encode('')), []);
  t.pass();
});

test('Brown: vocab 4096 round-trips the val split; deterministic; compression reported', (t) => {
  const { train, val } = brownSplits();
  const t0 = performance.now();
  const a = BpeTokenizer.train(train, { vocabSize: 4096 });
  const ms = performance.now() - t0;
  const b = BpeTokenizer.train(train, { vocabSize: 4096 });
  t.is(a.vocabSize, 4096);
  t.deepEqual(a.merges, b.merges, 'same merges twice');
  t.deepEqual(a.toJSON(), b.toJSON());
  const t1 = performance.now();
  const ids = a.encode(val);
  const encMs = performance.now() - t1;
  t.is(a.decode(ids), val, 'val round trip');
  t.deepEqual(b.encode(val), ids);
  const bytes = enc.encode(val).length;
  const ratio = bytes / ids.length;
  t.log(`train on ${train.length.toLocaleString()} chars: ${(ms / 1000).toFixed(2)} s; val: ${bytes.toLocaleString()} bytes -> ${ids.length.toLocaleString()} tokens = ${ratio.toFixed(3)} bytes/token (encode ${encMs.toFixed(0)} ms)`);
  t.true(ratio > 3, `compression ${ratio}`);
  t.true(ms < 60_000);
  // the first merges are the obvious ones of English
  t.deepEqual(a.merges.slice(0, 3).map(([x, y]) => a.decode([x, y])), [' t', 'he', ' a']);
});

test('the vocabulary size is respected; minFrequency stops early; 256 means bytes only', (t) => {
  const text = small();
  for (const V of [256, 257, 300, 1024]) {
    const tok = BpeTokenizer.train(text, { vocabSize: V });
    t.is(tok.vocabSize, V);
    t.is(tok.merges.length, V - 256);
    t.true(Math.max(...tok.encode(text)) < V);
  }
  const tiny = BpeTokenizer.train('ab ab ab cd', { vocabSize: 1000 });
  t.true(tiny.vocabSize < 1000, `stops when no pair occurs twice: ${tiny.vocabSize}`);
  t.deepEqual(tiny.decode(tiny.encode('ab ab')), 'ab ab');
  const bytes = BpeTokenizer.train(text, { vocabSize: 256 });
  t.deepEqual(Array.from(bytes.encode('é!')), [0xc3, 0xa9, 0x21]);
});

test('JSON and file round trips; save is atomic', (t) => {
  const tok = BpeTokenizer.train(small(), { vocabSize: 700 });
  const json = tok.toJSON();
  t.is(json.type, 'byte-bpe');
  t.is(json.version, 1);
  t.is(json.vocabSize, 700);
  t.is(json.merges.length, 444);
  const again = BpeTokenizer.fromJSON(JSON.parse(JSON.stringify(json)));
  t.deepEqual(again.toJSON(), json);
  const s = brownSplits().test.slice(0, 5000);
  t.deepEqual(again.encode(s), tok.encode(s));
  const file = path.join(root, 'tok.json');
  tok.save(file);
  t.deepEqual(fs.readdirSync(root).filter((f) => f.includes('.tmp')), [], 'no temp file left');
  t.deepEqual(BpeTokenizer.load(file).toJSON(), json);
  t.deepEqual(Array.from(tok.tokenBytes(0x41)), [0x41]);
  t.is(new TextDecoder().decode(tok.tokenBytes(256)), tok.decode([256]));
});

test('malformed tokenizer JSON and files are Errors that name the argument or the file', (t) => {
  const good = { type: 'byte-bpe', version: 1, vocabSize: 258, merges: [[104, 101], [32, 256]] };
  t.is(BpeTokenizer.fromJSON(good).vocabSize, 258);
  const cases: [string, unknown, string][] = [
    ['not an object', 42, 'obj'],
    ['type', { ...good, type: 'bpe' }, 'obj.type'],
    ['version', { ...good, version: 2 }, 'obj.version'],
    ['merges missing', { ...good, merges: undefined }, 'obj.merges'],
    ['vocabSize disagrees', { ...good, vocabSize: 300 }, 'obj.vocabSize'],
    ['merge refers to a later token', { ...good, merges: [[104, 257], [32, 256]] }, 'obj.merges[0]'],
    ['merge id negative', { ...good, merges: [[104, -1], [32, 256]] }, 'obj.merges[0]'],
    ['merge not a pair', { ...good, merges: [[104, 101, 3], [32, 256]] }, 'obj.merges[0]'],
    ['merge not integers', { ...good, merges: [[104, 101], [32.5, 256]] }, 'obj.merges[1]'],
    ['repeated merge', { ...good, merges: [[104, 101], [104, 101]] }, 'obj.merges[1]'],
  ];
  for (const [label, obj, argument] of cases) {
    const e = t.throws(() => BpeTokenizer.fromJSON(obj), undefined, label) as Error & { code: string; argument: string };
    t.is(e.code, INVALID_ARGUMENT, label);
    t.is(e.argument, argument, label);
    t.regex(e.message, /^BpeTokenizer\.fromJSON: argument '.*': expected .*, got /, label);
  }
  const file = (name: string, text: string): string => {
    const f = path.join(root, name);
    fs.writeFileSync(f, text);
    return f;
  };
  const files: [string, string][] = [
    [path.join(root, 'missing.json'), 'cannot read'],
    [file('bad-json.json', '{"type": "byte-bpe",'), 'not JSON'],
    [file('bad-merge.json', JSON.stringify({ ...good, merges: [[104, 999]] , vocabSize: 257 })), "not a byte-bpe tokenizer: argument 'obj.merges[0]'"],
  ];
  for (const [f, what] of files) {
    const e = t.throws(() => BpeTokenizer.load(f)) as Error & { code: string; file: string };
    t.is(e.code, BAD_DATA_FILE);
    t.is(e.file, f);
    t.true(e.message.startsWith(`BpeTokenizer.load: ${f}: ${what}`), e.message);
  }
});

test('bad arguments: options, lone surrogates, ids out of range', (t) => {
  const tok = BpeTokenizer.train('hello hello', { vocabSize: 260 });
  const bad: [() => unknown, string][] = [
    [() => BpeTokenizer.train('x', { vocabSize: 255 }), 'options.vocabSize'],
    [() => BpeTokenizer.train('x', { vocabSize: 1.5 }), 'options.vocabSize'],
    [() => BpeTokenizer.train('x', { vocabSize: 300, minFrequency: 0 }), 'options.minFrequency'],
    [() => BpeTokenizer.train(3 as unknown as string, { vocabSize: 300 }), 'text'],
    [() => BpeTokenizer.train('a\ud800b', { vocabSize: 300 }), 'text'],
    [() => tok.encode('x\udc00'), 'text'],
    [() => tok.decode([1, tok.vocabSize]), 'ids[1]'],
    [() => tok.decode([-1]), 'ids[0]'],
    [() => tok.decode([0.5]), 'ids[0]'],
  ];
  for (const [fn, argument] of bad) {
    const e = t.throws(fn) as Error & { code: string; argument: string };
    t.is(e.code, INVALID_ARGUMENT, e.message);
    t.is(e.argument, argument, e.message);
  }
  t.is(tok.decode([0xe2, 0x82]), '\ufffd', 'a cut multi-byte character decodes to U+FFFD');
});

test('cachedBrownTokenizer trains once, then loads the cached file', (t) => {
  const dir = path.join(root, 'cache');
  const a = cachedBrownTokenizer(dir, 512);
  const file = path.join(dir, 'brown-bpe-512-eot.json');
  t.true(fs.existsSync(file));
  const docs = brownSplits().train.split('\n\n').join('<|endoftext|>');
  t.deepEqual(a.toJSON(), BpeTokenizer.train(docs, { vocabSize: 512, specialTokens: ['<|endoftext|>'] }).toJSON(), 'trained on the train split');
  t.is(a.endOfTextId, 511);
  const mtime = fs.statSync(file).mtimeMs;
  const b = cachedBrownTokenizer(dir, 512);
  t.deepEqual(b.toJSON(), a.toJSON());
  t.is(fs.statSync(file).mtimeMs, mtime, 'not rewritten');
  fs.writeFileSync(file, '{');
  const e = t.throws(() => cachedBrownTokenizer(dir, 512)) as Error & { code: string };
  t.is(e.code, BAD_DATA_FILE);
});

test('special tokens: the last ids, counted in vocabSize, matched in text, never inside a merge; JSON round trip', (t) => {
  const E = '<|endoftext|>', P = '<|pad|>';
  const text = `aaa bbb${E}aaa bbb${E}${E}ab|>ab<|endoftext${P}aaa`.repeat(20);
  const tok = BpeTokenizer.train(text, { vocabSize: 300, specialTokens: [E, P], minFrequency: 1 });
  const n = 256 + tok.merges.length;
  t.is(tok.vocabSize, n + 2);
  t.is(tok.endOfTextId, n);
  t.deepEqual(tok.addedTokens, [{ id: n, content: E, special: true }, { id: n + 1, content: P, special: true }]);
  for (let id = 256; id < n; id++) {
    const s = tok.decode([id]);
    t.false(s.includes('<|') && s.includes('|>'), `merge ${id} spells ${JSON.stringify(s)}`);
  }
  const ids = Array.from(tok.encode(`x${E}${P}y<|endoftext|`));
  t.deepEqual(ids.slice(1, 3), [n, n + 1]);
  t.is(tok.decode(ids), `x${E}${P}y<|endoftext|`);
  const json = tok.toJSON();
  t.deepEqual(json.specialTokens, [E, P]);
  t.deepEqual(BpeTokenizer.fromJSON(JSON.parse(JSON.stringify(json))).encode(text), tok.encode(text));
  const bad = [
    [() => BpeTokenizer.fromJSON({ ...json, vocabSize: json.vocabSize - 2 }), 'obj.vocabSize'],
    [() => BpeTokenizer.fromJSON({ ...json, specialTokens: [E, E], vocabSize: json.vocabSize }), 'obj.specialTokens'],
    [() => BpeTokenizer.train('x', { vocabSize: 256, specialTokens: [E] }), 'options.vocabSize'],
    [() => BpeTokenizer.train('x', { vocabSize: 300, specialTokens: [''] }), 'options.specialTokens'],
  ] as const;
  for (const [fn, argument] of bad) t.is((t.throws(fn) as Error & { argument: string }).argument, argument);
});
