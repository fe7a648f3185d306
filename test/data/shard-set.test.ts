// Token shard globs: the files a pattern matches (sorted), read lazily as one sequence that equals
// the concatenation of the shards, batches identical to those over the same tokens in memory, the
// 90% / 10% split or separate validation shards, the errors that name the pattern or both files,
// and the fingerprint that covers a shard set without reading it whole.
import test from 'ava';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { BAD_DATA_FILE, evalBatches, expandGlob, INVALID_ARGUMENT, loadDataset, ShardSet, TokenBatcher, writeLlmcTokenFile } from '../../lib/data';
import { checkFingerprint, dataFingerprint } from '../../lib/data/fingerprint';
import { stridedEvalBatches } from '../../lib/data/strided-eval';
import { tokenSource, type Tokens } from '../../lib/data/token-source';
import { mulberry32, randInt } from '../helpers/ref';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'moontrain-shards-'));
test.after.always(() => fs.rmSync(root, { recursive: true, force: true }));
let n = 0;
const dir = (): string => fs.mkdtempSync(path.join(root, `c${n++}-`));

function randomTokens(seed: number, count: number, max: number): Int32Array {
  const rng = mulberry32(seed);
  return Int32Array.from({ length: count }, () => randInt(rng, 0, max - 1));
}

/** Shards of the given sizes (written out of order), their concatenation, and the glob. */
function shards(sizes: number[], o: { version?: 1 | 2; vocab?: number; max?: number; seed?: number } = {}) {
  const d = dir();
  const parts = sizes.map((s, k) => randomTokens((o.seed ?? 1) * 100 + k, s, o.max ?? 300));
  for (const k of [...sizes.keys()].reverse()) writeLlmcTokenFile(path.join(d, `train_${String(k).padStart(6, '0')}.bin`), parts[k]!, o.version ?? 1, o.vocab ?? 0);
  const all = new Int32Array(sizes.reduce((a, b) => a + b, 0));
  let at = 0;
  for (const p of parts) all.set(p, at), (at += p.length);
  return { dir: d, pattern: path.join(d, 'train_*.bin'), all, parts };
}

test('expandGlob: the matching files in sorted order; *, ? and [...] within one component; hidden files only for a dot', (t) => {
  const d = dir();
  for (const f of ['b_2.bin', 'a_10.bin', 'a_1.bin', 'a_2.txt', '.a_0.bin']) fs.writeFileSync(path.join(d, f), 'x');
  fs.mkdirSync(path.join(d, 'sub1'));
  fs.mkdirSync(path.join(d, 'sub2'));
  fs.writeFileSync(path.join(d, 'sub2', 'a_0.bin'), 'x');
  fs.writeFileSync(path.join(d, 'sub1', 'a_5.bin'), 'x');
  t.deepEqual(expandGlob(path.join(d, '*.bin')).map((f) => path.basename(f)), ['a_1.bin', 'a_10.bin', 'b_2.bin']);
  t.deepEqual(expandGlob(path.join(d, 'a_?.*')).map((f) => path.basename(f)), ['a_1.bin', 'a_2.txt']);
  t.deepEqual(expandGlob(path.join(d, '[b-z]_*')).map((f) => path.basename(f)), ['b_2.bin']);
  t.deepEqual(expandGlob(path.join(d, '[!a]_*')).map((f) => path.basename(f)), ['b_2.bin']);
  t.deepEqual(expandGlob(path.join(d, '.a_*')).map((f) => path.basename(f)), ['.a_0.bin']);
  t.deepEqual(expandGlob(path.join(d, 'sub*', 'a_*.bin')), [path.join(d, 'sub1', 'a_5.bin'), path.join(d, 'sub2', 'a_0.bin')]);
  t.deepEqual(expandGlob(path.join(d, 'none_*.bin')), []);
  // many names created in a shuffled order: the directory's own order is not the sorted one
  const many = dir();
  const names = Array.from({ length: 40 }, (_, i) => `s_${String(i).padStart(3, '0')}.bin`);
  const rng = mulberry32(11);
  for (const name of [...names].sort(() => rng() - 0.5)) fs.writeFileSync(path.join(many, name), 'x');
  t.deepEqual(expandGlob(path.join(many, 's_*.bin')), names.map((f) => path.join(many, f)));
  t.deepEqual(expandGlob(path.join(d, 'missing-dir', '*.bin')), []);
});

test('ShardSet reads any window as the concatenation of the shards, across shard ends and cache blocks (uint16 and uint32)', (t) => {
  for (const version of [1, 2] as const) {
    const sizes = [17, 40_001, 3, 70_000, 16_384];
    const s = shards(sizes, { version, max: version === 1 ? 65535 : 1_000_000, seed: version });
    const set = ShardSet.open(s.pattern);
    t.is(set.length, s.all.length);
    t.is(set.width, version === 1 ? 2 : 4);
    t.deepEqual(set.files, sizes.map((_, k) => path.join(s.dir, `train_${String(k).padStart(6, '0')}.bin`)));
    const rng = mulberry32(7 + version);
    for (let trial = 0; trial < 300; trial++) {
      const count = randInt(rng, 0, trial % 10 === 0 ? 40_000 : 300);
      const start = randInt(rng, 0, s.all.length - count);
      const got = new Int32Array(count + 3).fill(-7);
      set.read(start, count, got, 2);
      t.deepEqual(got.subarray(2, 2 + count), s.all.subarray(start, start + count), `v${version} [${start}, ${start + count})`);
      t.is(got[0], -7);
      t.is(got[count + 2], -7);
    }
    const all = new Int32Array(s.all.length);
    set.read(0, all.length, all, 0);
    t.deepEqual(all, s.all);
    t.throws(() => set.read(s.all.length - 2, 3, new Int32Array(3), 0), { instanceOf: RangeError });
    set.close();
  }
});

test('batches over a ShardSet equal those over the same tokens in memory (train, eval, strided eval)', (t) => {
  const s = shards([5000, 123, 9000], { seed: 3 });
  const set = ShardSet.open(s.pattern);
  const opts = { batchSize: 6, seqLen: 33, seed: 12345 };
  const lazy = new TokenBatcher(set, opts), mem = new TokenBatcher(s.all, opts);
  for (const step of [0, 1, 17, 2 ** 33 + 5]) {
    t.deepEqual(lazy.batch(step), mem.batch(step));
    t.deepEqual(lazy.batch(step, 1, 3), mem.batch(step, 1, 3));
  }
  t.deepEqual([...evalBatches(set, opts)], [...evalBatches(s.all, opts)]);
  t.deepEqual([...stridedEvalBatches(set, { ...opts, minContext: 9 })], [...stridedEvalBatches(s.all, { ...opts, minContext: 9 })]);
});

test('loadDataset: a glob is split 90% / 10% by tokens, or trains on all of it with separate validation shards', (t) => {
  const s = shards([3000, 2001], { vocab: 300, seed: 4 });
  const d = loadDataset({ data: s.pattern });
  const read = (tokens: Tokens) => {
    const src = tokenSource('read', tokens);
    const out = new Int32Array(src.length);
    src.read(0, src.length, out, 0);
    return out;
  };
  const cut = Math.floor(s.all.length * 0.9);
  t.deepEqual(read(d.train), s.all.subarray(0, cut));
  t.deepEqual(read(d.val), s.all.subarray(cut));
  t.is(d.test, d.val);
  t.is(d.vocabSize, 300, 'the vocabulary the shards record');
  t.deepEqual(d.words, { train: cut, val: s.all.length - cut, test: s.all.length - cut });
  t.regex(d.description, /2 files, uint16, read lazily/);
  const v = shards([700], { vocab: 300, seed: 5 });
  const withVal = loadDataset({ data: s.pattern, valData: v.pattern, vocabSize: 512 });
  t.deepEqual(read(withVal.train), s.all);
  t.deepEqual(read(withVal.val), v.all);
  t.is(withVal.vocabSize, 300);
  // shards that record no vocabulary take the given one, and need it
  const bare = shards([500, 500], { seed: 6 });
  t.is(loadDataset({ data: bare.pattern, vocabSize: 301 }).vocabSize, 301);
  t.throws(() => loadDataset({ data: bare.pattern }), { code: INVALID_ARGUMENT, message: /options\.vocabSize.*header\[3\]/ });
});

test('a glob matching nothing, mixed widths, mixed vocabularies, a foreign file and ids over the vocabulary are errors naming the files', (t) => {
  const none = path.join(dir(), 'train_*.bin');
  t.throws(() => ShardSet.open(none), { code: BAD_DATA_FILE, message: `ShardSet: ${none}: no file matches this pattern` });

  const a = dir();
  writeLlmcTokenFile(path.join(a, 'x_0.bin'), randomTokens(1, 100, 300), 1, 300);
  writeLlmcTokenFile(path.join(a, 'x_1.bin'), randomTokens(2, 100, 300), 2, 300);
  const e1 = t.throws(() => ShardSet.open(path.join(a, 'x_*.bin')), { code: BAD_DATA_FILE });
  t.true(e1.message.includes(`mixed token widths: ${path.join(a, 'x_0.bin')} holds uint16 tokens, ${path.join(a, 'x_1.bin')} uint32`), e1.message);

  const b = dir();
  writeLlmcTokenFile(path.join(b, 'x_0.bin'), randomTokens(1, 100, 300), 1, 300);
  writeLlmcTokenFile(path.join(b, 'x_1.bin'), randomTokens(2, 100, 300), 1, 0);
  writeLlmcTokenFile(path.join(b, 'x_2.bin'), randomTokens(3, 100, 300), 1, 512);
  const e2 = t.throws(() => ShardSet.open(path.join(b, 'x_*.bin')), { code: BAD_DATA_FILE });
  t.true(e2.message.includes(`mixed vocabularies: ${path.join(b, 'x_0.bin')} records 300 tokens, ${path.join(b, 'x_2.bin')} 512`), e2.message);
  const e3 = t.throws(() => loadDataset({ data: path.join(b, 'x_0.bin'), valData: path.join(b, 'x_2.bin') }), { code: INVALID_ARGUMENT });
  t.regex(e3.message, /x_0\.bin \(300\).*x_2\.bin with 512/);

  const c = dir();
  writeLlmcTokenFile(path.join(c, 'x_0.bin'), randomTokens(1, 100, 300), 1, 300);
  fs.writeFileSync(path.join(c, 'x_1.bin'), Buffer.from(Uint16Array.from([1, 2, 3, 4]).buffer));
  t.throws(() => ShardSet.open(path.join(c, 'x_*.bin')), { code: BAD_DATA_FILE, message: new RegExp(`${path.join(c, 'x_1.bin')}: not an llm.c token shard`) });

  const d = dir();
  const bad = randomTokens(4, 50_000, 300);
  bad[33_333] = 300;
  writeLlmcTokenFile(path.join(d, 'x_0.bin'), bad, 1, 300);
  const set = ShardSet.open(path.join(d, 'x_*.bin'));
  set.read(0, 100, new Int32Array(100), 0);
  t.throws(() => set.read(33_000, 1000, new Int32Array(1000), 0), { code: BAD_DATA_FILE, message: `ShardSet: ${path.join(d, 'x_0.bin')}: token 33333 is 300, expected a token id below 300` });
});

test('the fingerprint of a shard set: stable, and changed by a shard added, rewritten or touched; it reads only heads and tails', (t) => {
  const s = shards([200_000, 1000], { seed: 8 });
  // Whole-second times, which utimes restores exactly (a Date keeps only milliseconds, and seconds
  // as a double can land a nanosecond below the millisecond the fingerprint reads).
  const whole = new Date('2026-01-01T00:00:00Z');
  for (const f of fs.readdirSync(s.dir)) fs.utimesSync(path.join(s.dir, f), whole, whole);
  const fp = dataFingerprint(s.pattern);
  t.is(fp.files, 2);
  t.is(fp.size, fs.statSync(path.join(s.dir, 'train_000000.bin')).size + fs.statSync(path.join(s.dir, 'train_000001.bin')).size);
  t.deepEqual(dataFingerprint(s.pattern), fp);
  t.notThrows(() => checkFingerprint(fp, 'train --resume'));
  // a byte in the middle of the big shard, its time restored: not seen (documented: heads and tails only)
  const big = path.join(s.dir, 'train_000000.bin');
  const st = fs.statSync(big);
  const fd = fs.openSync(big, 'r+');
  fs.writeSync(fd, Buffer.from([0x55]), 0, 1, 200_001);
  fs.closeSync(fd);
  fs.utimesSync(big, st.atime, st.mtime);
  t.is(dataFingerprint(s.pattern).sha256, fp.sha256);
  // ...the same change with its new modification time is
  fs.utimesSync(big, st.atime, new Date(st.mtimeMs + 5000));
  t.throws(() => checkFingerprint(fp, 'train --resume'), { code: 'ERR_MOONTRAIN_DATA_CHANGED', message: /changed since the run trained on it: it was 2 files, / });
  fs.utimesSync(big, st.atime, st.mtime);
  t.is(dataFingerprint(s.pattern).sha256, fp.sha256);
  // a byte in the last 64 KiB (same time), and a shard added
  const fd2 = fs.openSync(big, 'r+');
  fs.writeSync(fd2, Buffer.from([0xaa]), 0, 1, st.size - 3);
  fs.closeSync(fd2);
  fs.utimesSync(big, st.atime, st.mtime);
  t.not(dataFingerprint(s.pattern).sha256, fp.sha256);
  const s2 = shards([300], { seed: 9 });
  fs.copyFileSync(path.join(s2.dir, 'train_000000.bin'), path.join(s.dir, 'train_000002.bin'));
  t.is(dataFingerprint(s.pattern).files, 3);
});

test('shard sets dropped without close() give their files back when collected', (t) => {
  const s = shards([100, 100, 100], { seed: 10 });
  const r = spawnSync(process.execPath, ['--expose-gc', '--import', require.resolve('tsx'), path.join(__dirname, '..', 'helpers', 'shard-fds.ts'), s.pattern], { encoding: 'utf8' });
  t.is(r.status, 0, r.stderr);
  const { before, open, collected } = JSON.parse(r.stdout) as Record<string, number>;
  t.true(open >= before + 900, `${open - before} descriptors held by 300 sets of 3 shards`);
  t.is(collected, before);
});
