// Moonlight's tokenizer format: a tiktoken ranks file written by the test (nothing downloaded),
// its pre-tokenizer pattern, lowest-rank-first merges, special tokens, and bad files.
import test from 'ava';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { TiktokenTokenizer } from '../../lib/data/tiktoken';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-tiktoken-'));
test.after.always(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A ranks file: the 256 bytes in a shuffled order (ranks are ids, not byte values), then `merged`. */
function writeRanks(name: string, merged: string[]): string {
  const bytes = Array.from({ length: 256 }, (_, i) => (i * 97 + 13) % 256);
  const lines = bytes.map((b, rank) => `${Buffer.from([b]).toString('base64')} ${rank}`);
  merged.forEach((t, i) => lines.push(`${Buffer.from(t, 'utf8').toString('base64')} ${256 + i}`));
  const file = path.join(dir, name);
  fs.writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}
const byteRank = (b: number) => Array.from({ length: 256 }, (_, i) => (i * 97 + 13) % 256).indexOf(b);

test('merges the lowest-ranked pair first, leftmost on ties, and round-trips', (t) => {
  const tok = TiktokenTokenizer.load(writeRanks('merge.model', ['ab', 'bc', 'abc', 'yz', 'xy', 'yx']));
  // ab (256) beats bc (257); "abc" is then one token.
  t.deepEqual([...tok.encode('abc')], [258]);
  // Without "abcd": ab first, then nothing joins "ab" + "d".
  t.deepEqual([...tok.encode('abd')], [256, byteRank(100)]);
  // "bcb": only bc is a rank.
  t.deepEqual([...tok.encode('bcb')], [257, byteRank(98)]);
  // "xyx": xy (260) ranks below yx (261), so the left pair merges; in "xyz" yz (259) wins.
  t.deepEqual([...tok.encode('xyx')], [260, byteRank(120)]);
  t.deepEqual([...tok.encode('xyz')], [byteRank(120), 259]);
  for (const s of ['abc abd, xyx!\n\n  12345 中文English混合 naïve €', '']) t.is(tok.decode(tok.encode(s)), s);
});

test("Moonlight's pre-tokenizer: Han runs, letters with contractions, digits in threes, spaces", (t) => {
  const tok = TiktokenTokenizer.load(writeRanks('split.model', []));
  t.deepEqual(tok.split('中文English混合'), ['中文', 'English', '混合']);
  t.deepEqual(tok.split("I'LL see you're HERE's"), ["I'LL", ' see', " you're", " HERE's"]);
  t.deepEqual(tok.split('12345'), ['123', '45']);
  t.deepEqual(tok.split('hello  world\n\nok'), ['hello', ' ', ' world', '\n\n', 'ok']);
  t.deepEqual(tok.split('a, b!!'), ['a', ',', ' b', '!!']);
});

test('special tokens decode and are never produced from text', (t) => {
  const tok = TiktokenTokenizer.load(writeRanks('special.model', ['ab']), { specialTokens: { '[EOS]': 300 } });
  t.is(tok.vocabSize, 301);
  t.is(tok.decode([256, 300]), 'ab[EOS]');
  t.false([...tok.encode('[EOS]')].includes(300));
  t.throws(() => tok.decode([299]), { message: /'ids\[0\]': expected a token id of this tokenizer/ });
  t.throws(() => TiktokenTokenizer.load(writeRanks('clash.model', ['ab']), { specialTokens: { x: 256 } }), { message: /an id no rank uses/ });
});

test('bad ranks files are named with the line', (t) => {
  const bad = path.join(dir, 'bad.model');
  fs.writeFileSync(bad, 'YQ== 0\nnot base64!\n');
  t.throws(() => TiktokenTokenizer.load(bad), { message: new RegExp(`${bad}: line 2: expected "<base64 bytes> <rank>"`) });
  fs.writeFileSync(bad, 'YQ== 0\n');
  t.throws(() => TiktokenTokenizer.load(bad), { message: /a rank for each of the 256 single bytes/ });
  fs.writeFileSync(bad, 'YQ== 0\nYQ== 1\n');
  t.throws(() => TiktokenTokenizer.load(bad), { message: /line 2: a repeated/ });
  t.throws(() => TiktokenTokenizer.load(path.join(dir, 'missing.model')), { message: /cannot read/ });
});
