// Token and text files: llm.c v1 / v2 and raw uint16 files written here, the exact llm.c byte
// layout, format detection, and a table of malformed files that must each give an Error naming
// the file.
import test from 'ava';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { BAD_DATA_FILE, detectDataFormat, INVALID_ARGUMENT, LLMC_MAGIC, readTextFile, readTokenFile, writeLlmcTokenFile } from '../../lib/data';
import { mulberry32, randInt } from '../helpers/ref';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'moontrain-token-files-'));
test.after.always(() => fs.rmSync(root, { recursive: true, force: true }));
let n = 0;
const tmp = (name: string): string => path.join(fs.mkdtempSync(path.join(root, `c${n++}-`)), name);

function randomTokens(seed: number, count: number, max: number): Int32Array {
  const rng = mulberry32(seed);
  return Int32Array.from({ length: count }, () => randInt(rng, 0, max));
}

/** An llm.c file built by hand: header ints (the rest zero), then the token bytes. */
function llmcBytes(header: number[], body: Uint8Array): Buffer {
  const head = Buffer.alloc(1024);
  header.forEach((v, i) => head.writeInt32LE(v, 4 * i));
  return Buffer.concat([head, body]);
}

const u16 = (a: ArrayLike<number>): Uint8Array => new Uint8Array(Uint16Array.from(a).buffer);
const u32 = (a: ArrayLike<number>): Uint8Array => new Uint8Array(Uint32Array.from(a).buffer);

test('llm.c v1 and v2 round trips, and the exact byte layout', (t) => {
  const tokens = randomTokens(1, 10_001, 65_535);
  const f1 = tmp('a.bin');
  writeLlmcTokenFile(f1, tokens, 1);
  const bytes = fs.readFileSync(f1);
  t.is(bytes.length, 1024 + 2 * tokens.length);
  t.is(bytes.readInt32LE(0), LLMC_MAGIC);
  t.is(bytes.readInt32LE(4), 1);
  t.is(bytes.readInt32LE(8), tokens.length);
  t.true(bytes.subarray(12, 1024).every((b) => b === 0), 'header[3..255] are zero');
  t.is(bytes.readUInt16LE(1024 + 2 * 5), tokens[5]);
  t.deepEqual(readTokenFile(f1), { tokens, format: 'llmc-v1' });

  const big = randomTokens(2, 5000, 2 ** 31 - 1);
  const f2 = tmp('b.tok');
  writeLlmcTokenFile(f2, big); // version 2 by default
  t.is(fs.statSync(f2).size, 1024 + 4 * big.length);
  t.deepEqual(readTokenFile(f2), { tokens: big, format: 'llmc-v2' });
  t.deepEqual(readTokenFile(f2, { vocabSize: 2 ** 31 }).tokens, big);
  writeLlmcTokenFile(f2, Uint32Array.from([1, 2, 3]), 2);
  t.deepEqual(Array.from(readTokenFile(f2).tokens), [1, 2, 3]);
  t.deepEqual(fs.readdirSync(path.dirname(f2)), ['b.tok'], 'no temp file left');
  t.is(detectDataFormat(f1), 'llmc');
  t.is(detectDataFormat(f2), 'llmc');
});

test('a hand-written llm.c file (as llm.c writes it) reads back', (t) => {
  const f = tmp('tiny_shakespeare_val.bin');
  fs.writeFileSync(f, llmcBytes([LLMC_MAGIC, 1, 4], u16([50256, 5962, 22307, 25])));
  t.deepEqual(readTokenFile(f), { tokens: Int32Array.from([50256, 5962, 22307, 25]), format: 'llmc-v1' });
});

test('raw uint16 .bin (nanoGPT) round trip', (t) => {
  const tokens = randomTokens(3, 7777, 50_303);
  const f = tmp('train.bin');
  fs.writeFileSync(f, u16(tokens));
  t.is(detectDataFormat(f), 'uint16');
  t.deepEqual(readTokenFile(f), { tokens, format: 'uint16' });
  t.deepEqual(readTokenFile(f, { vocabSize: 50_304 }).tokens, tokens);
  const one = tmp('one.bin');
  fs.writeFileSync(one, u16([7]));
  t.deepEqual(readTokenFile(one), { tokens: Int32Array.of(7), format: 'uint16' });
});

test('malformed token files: each an Error that names the file and the problem', (t) => {
  const tokens = [1, 2, 3, 4];
  const cases: { name: string; file: string; bytes: Uint8Array | null; vocabSize?: number; what: RegExp }[] = [
    { name: 'llm.c header cut short', file: 'short.bin', bytes: llmcBytes([LLMC_MAGIC, 1, 4], u16(tokens)).subarray(0, 600), what: /too short for the llm\.c header: expected at least 1024 bytes, got 600/ },
    { name: 'unknown version', file: 'v3.bin', bytes: llmcBytes([LLMC_MAGIC, 3, 4], u16(tokens)), what: /unknown llm\.c token file version 3/ },
    { name: 'version 0', file: 'v0.bin', bytes: llmcBytes([LLMC_MAGIC, 0, 4], u16(tokens)), what: /version 0/ },
    { name: 'count too large', file: 'count.bin', bytes: llmcBytes([LLMC_MAGIC, 1, 5], u16(tokens)), what: /header\[2\] says 5 tokens of 2 bytes, so 1034 bytes, but the file has 1032 bytes/ },
    { name: 'count too small', file: 'count2.bin', bytes: llmcBytes([LLMC_MAGIC, 2, 3], u32(tokens)), what: /says 3 tokens of 4 bytes/ },
    { name: 'v1 body as uint32', file: 'mixed.bin', bytes: llmcBytes([LLMC_MAGIC, 1, 4], u32(tokens)), what: /says 4 tokens of 2 bytes/ },
    { name: 'negative count', file: 'neg.bin', bytes: llmcBytes([LLMC_MAGIC, 1, -1], u16(tokens)), what: /negative token count -1/ },
    { name: 'no tokens (llm.c)', file: 'empty-llmc.bin', bytes: llmcBytes([LLMC_MAGIC, 2, 0], new Uint8Array(0)), what: /holds no tokens/ },
    { name: 'v2 id beyond int32', file: 'huge.bin', bytes: llmcBytes([LLMC_MAGIC, 2, 2], u32([1, 2 ** 31])), what: /token 1 is 2147483648/ },
    { name: 'id >= vocabSize (llm.c)', file: 'vocab.bin', bytes: llmcBytes([LLMC_MAGIC, 2, 4], u32([1, 2, 300, 4])), vocabSize: 256, what: /token 2 is 300, expected a token id \(vocabSize 256\) below 256/ },
    { name: 'id >= vocabSize (uint16)', file: 'vocab16.bin', bytes: u16([1, 2, 3, 256]), vocabSize: 256, what: /token 3 is 256/ },
    { name: 'odd length (uint16)', file: 'odd.bin', bytes: new Uint8Array(7), what: /even byte length, got 7 bytes/ },
    { name: 'empty .bin', file: 'empty.bin', bytes: new Uint8Array(0), what: /holds no tokens \(0 bytes\)/ },
    { name: 'wrong magic, not .bin', file: 'tokens.llmc', bytes: llmcBytes([20240519, 1, 4], u16(tokens)), what: /not a token file: expected the llm\.c magic 20240520 .*got first int32 20240519/ },
    { name: 'tiny file, not .bin', file: 'x.tok', bytes: new Uint8Array(2), what: /got a file of 2 bytes/ },
    { name: 'missing', file: 'missing.bin', bytes: null, what: /cannot open/ },
  ];
  for (const c of cases) {
    const f = tmp(c.file);
    if (c.bytes) fs.writeFileSync(f, c.bytes);
    const e = t.throws(() => readTokenFile(f, c.vocabSize === undefined ? {} : { vocabSize: c.vocabSize }), undefined, c.name) as Error & { code: string; file: string };
    t.is(e.code, BAD_DATA_FILE, c.name);
    t.is(e.file, f, c.name);
    t.true(e.message.startsWith(`readTokenFile: ${f}: `), `${c.name}: ${e.message}`);
    t.regex(e.message, c.what, c.name);
  }
  const dir = tmp('dir.bin');
  fs.mkdirSync(dir);
  t.regex((t.throws(() => readTokenFile(dir)) as Error).message, /not a regular file/);
});

test('writer and reader argument errors', (t) => {
  const f = tmp('w.bin');
  const cases: [() => unknown, string][] = [
    [() => writeLlmcTokenFile(f, Int32Array.of(1, 65536), 1), 'tokens[1]'],
    [() => writeLlmcTokenFile(f, Int32Array.of(-1), 2), 'tokens[0]'],
    [() => writeLlmcTokenFile(f, [1, 2] as unknown as Int32Array, 2), 'tokens'],
    [() => writeLlmcTokenFile(f, Int32Array.of(1), 3 as 1), 'version'],
    [() => writeLlmcTokenFile('', Int32Array.of(1), 1), 'file'],
    [() => readTokenFile(f, { vocabSize: 0 }), 'options.vocabSize'],
  ];
  for (const [fn, argument] of cases) {
    const e = t.throws(fn) as Error & { code: string; argument: string };
    t.is(e.code, INVALID_ARGUMENT, e.message);
    t.is(e.argument, argument, e.message);
  }
  t.false(fs.existsSync(f), 'nothing written by a refused call');
});

test('text files: UTF-8 (BOM dropped), invalid UTF-8 refused, detection', (t) => {
  const f = tmp('corpus.txt');
  const text = 'Grüße, 世界 🌍\nline two\n';
  fs.writeFileSync(f, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text, 'utf8')]));
  t.is(readTextFile(f), text);
  t.is(detectDataFormat(f), 'text');
  const noExt = tmp('README');
  fs.writeFileSync(noExt, 'plain');
  t.is(detectDataFormat(noExt), 'text');
  t.is(readTextFile(noExt), 'plain');
  const bad = tmp('bad.txt');
  fs.writeFileSync(bad, Buffer.from([0x61, 0xff, 0x62]));
  const e = t.throws(() => readTextFile(bad)) as Error & { code: string; file: string };
  t.is(e.code, BAD_DATA_FILE);
  t.is(e.message, `readTextFile: ${bad}: not valid UTF-8 text`);
  t.regex((t.throws(() => readTextFile(tmp('nope.txt'))) as Error).message, /cannot read/);
});
