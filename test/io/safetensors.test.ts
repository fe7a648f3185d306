// safetensors: round trips, the exact byte layout of the writer, hand-written files (F16, F64,
// integers), sharded checkpoints, the names filter, dtype conversion, atomic writes, and a table
// of malformed files (each a mutation of a valid file) that must each give the documented Error.
import test, { type ExecutionContext } from 'ava';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { threadId } from 'worker_threads';
import { io, tensor, Tensor, debug } from '../../lib';
import { _setChunkBytesForTests } from '../../lib/io/safetensors';
import type { SafetensorsError } from '../../types';
import { mulberry32, randn, randInt, type Rng } from '../helpers/ref';
import { assertInvalidArg } from '../helpers/util';
import { numel } from '../../lib/shape';

debug.poisonAllocations(true);

const BAD = 'ERR_MOONTRAIN_BAD_SAFETENSORS';
const any = (v: unknown): any => v;

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'moontrain-safetensors-'));
test.after.always(() => fs.rmSync(root, { recursive: true, force: true }));
const tmpDir = (): string => fs.mkdtempSync(path.join(root, 'case-'));

function bitsOf(a: Float32Array): number[] {
  return Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
}

/** Bitwise equality of two tensors' contents, shape and dtype. */
function assertSameTensor(t: ExecutionContext, got: Tensor | undefined, want: Tensor, label: string): void {
  if (!got) {
    t.fail(`${label}: missing`);
    return;
  }
  t.deepEqual(got.shape, want.shape, `${label}: shape`);
  t.is(got.dtype, want.dtype, `${label}: dtype`);
  const g = bitsOf(got.toFloat32Array());
  const w = bitsOf(want.toFloat32Array());
  t.is(g.length, w.length, `${label}: element count`);
  const i = g.findIndex((b, k) => b !== w[k]);
  t.is(i, -1, `${label}: first differing element ${i}: 0x${g[i]?.toString(16)} vs 0x${w[i]?.toString(16)}`);
}

/** Builds a safetensors file from header text (padded with spaces to 8 bytes unless told) and data. */
function buildFile(header: string | object, data: ArrayLike<number> | Uint8Array = [], pad = true): Buffer {
  const text = typeof header === 'string' ? header : JSON.stringify(header);
  let h = Buffer.from(text, 'utf8');
  if (pad && h.length % 8 !== 0) h = Buffer.concat([h, Buffer.alloc(8 - (h.length % 8), 0x20)]);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(h.length));
  return Buffer.concat([len, h, Buffer.from(data as Uint8Array)]);
}

/** Splits a file into its header (text and parsed) and byte buffer. */
function splitFile(buf: Buffer): { text: string; header: any; data: Buffer } {
  const n = Number(buf.readBigUInt64LE(0));
  const text = buf.subarray(8, 8 + n).toString('utf8');
  return { text, header: JSON.parse(text), data: buf.subarray(8 + n) };
}

function write(file: string, bytes: Uint8Array): string {
  fs.writeFileSync(file, bytes);
  return file;
}

function isBad(e: unknown): e is SafetensorsError {
  return e instanceof Error && (e as any).code === BAD;
}

/** Asserts fn throws a SafetensorsError naming `file` (and `tensorName`), with message matching `re`. */
function assertBad(
  t: ExecutionContext,
  fn: () => unknown,
  file: string,
  tensorName: string | undefined,
  re: RegExp,
  label: string,
): void {
  let err: unknown;
  try {
    const r = fn() as any;
    if (r?.tensors instanceof Map) for (const v of r.tensors.values()) if (v instanceof Tensor) v.dispose();
  } catch (e) {
    err = e;
  }
  if (err === undefined) {
    t.fail(`${label}: expected an Error, but it returned`);
    return;
  }
  if (!isBad(err)) {
    t.fail(`${label}: expected code ${BAD}, got ${String(err)} (code ${(err as any)?.code})`);
    return;
  }
  t.is(err.file, file, `${label}: err.file (${err.message})`);
  t.is(err.tensor, tensorName, `${label}: err.tensor (${err.message})`);
  t.true(err.message.startsWith(`safetensors: ${file}: `), `${label}: message names the file: ${err.message}`);
  if (tensorName !== undefined) t.true(err.message.includes(`tensor '${tensorName}': `), `${label}: message names the tensor: ${err.message}`);
  t.regex(err.message, re, `${label}: message`);
}

function randomTensor(rng: Rng, shape: number[], dtype: 'f32' | 'bf16', scale = 1): Tensor {
  const n = numel(shape);
  const data = randn(rng, n, scale);
  // some specials: signed zero, infinities, subnormals, extremes
  const specials = [-0, Infinity, -Infinity, 1e-40, -3e-39, 3.3e38, -1.17549435e-38];
  for (let i = 0; i < Math.min(n, specials.length); i++) if (rng() < 0.5) data[randInt(rng, 0, n - 1)] = specials[i];
  return tensor(data, shape, { dtype });
}

// ---------------------------------------------------------------------------------------------
// round trips
// ---------------------------------------------------------------------------------------------

test('round trip: f32 and bf16 tensors of ranks 1-4 with random values are bitwise equal', (t) => {
  const rng = mulberry32(11);
  const dir = tmpDir();
  for (let rep = 0; rep < 6; rep++) {
    const saved = new Map<string, Tensor>();
    for (let rank = 1; rank <= 4; rank++) {
      for (const dtype of ['f32', 'bf16'] as const) {
        const shape = Array.from({ length: rank }, () => randInt(rng, 1, 7));
        saved.set(`layers.${rep}.r${rank}.${dtype}.weight`, randomTensor(rng, shape, dtype, 10 ** randInt(rng, -3, 3)));
      }
    }
    const file = path.join(dir, `rt${rep}.safetensors`);
    io.saveSafetensors(file, saved);
    const { tensors, metadata } = io.loadSafetensors(file);
    t.deepEqual(metadata, {}, 'no metadata written, none read');
    t.deepEqual([...tensors.keys()], [...saved.keys()], 'names come back in the order written');
    for (const [name, want] of saved) assertSameTensor(t, tensors.get(name), want, `rep ${rep} ${name}`);
    // the header describes the same layout
    const h = io.readSafetensorsHeader(file);
    let off = 0;
    for (const [i, [name, want]] of [...saved].entries()) {
      const e = h.entries[i];
      const bytes = numel(want.shape) * (want.dtype === 'bf16' ? 2 : 4);
      t.deepEqual(e, { name, dtype: want.dtype === 'bf16' ? 'BF16' : 'F32', shape: want.shape, offsets: [off, off + bytes] });
      off += bytes;
    }
    t.is(fs.statSync(file).size, h.dataStart + off, 'file size = dataStart + the data');
  }
});

test('round trip: NaN stays NaN (f32 keeps its bits)', (t) => {
  const file = path.join(tmpDir(), 'nan.safetensors');
  const data = new Float32Array(new Uint32Array([0x7fc00000, 0xffc00001, 0x7f800001, 0x3f800000]).buffer);
  io.saveSafetensors(file, { x: tensor(data, [4]), y: tensor(data, [2, 2], { dtype: 'bf16' }) });
  const { tensors } = io.loadSafetensors(file);
  const x = tensors.get('x')!.toFloat32Array();
  t.deepEqual(bitsOf(x), bitsOf(data));
  const y = tensors.get('y')!.toFloat32Array();
  t.true(Number.isNaN(y[0]) && Number.isNaN(y[1]) && Number.isNaN(y[2]) && y[3] === 1, `bf16: ${Array.from(y)}`);
});

test('round trip: zero-size tensors (alone and between others), and an empty checkpoint', (t) => {
  const rng = mulberry32(12);
  const dir = tmpDir();
  const saved = new Map<string, Tensor>([
    ['empty0', tensor([], [0])],
    ['a', randomTensor(rng, [3, 5], 'f32')],
    ['empty1', tensor([], [3, 0], { dtype: 'bf16' })],
    ['empty2', tensor([], [2, 0, 5, 1])],
    ['b', randomTensor(rng, [7], 'bf16')],
    ['empty3', tensor([], [0, 4])],
  ]);
  const file = path.join(dir, 'zero.safetensors');
  io.saveSafetensors(file, saved);
  const { tensors } = io.loadSafetensors(file);
  t.deepEqual([...tensors.keys()], [...saved.keys()]);
  for (const [name, want] of saved) assertSameTensor(t, tensors.get(name), want, name);
  const h = io.readSafetensorsHeader(file);
  t.deepEqual(
    h.entries.map((e) => [e.name, e.offsets]),
    [
      ['empty0', [0, 0]],
      ['a', [0, 60]],
      ['empty1', [60, 60]],
      ['empty2', [60, 60]],
      ['b', [60, 74]],
      ['empty3', [74, 74]],
    ],
  );

  const none = path.join(dir, 'none.safetensors');
  io.saveSafetensors(none, {});
  t.deepEqual([...fs.readFileSync(none)], [...Buffer.from([8, 0, 0, 0, 0, 0, 0, 0]), ...Buffer.from('{}      ')]);
  t.is(io.loadSafetensors(none).tensors.size, 0);
});

test('metadata round trip (unicode, quotes, escapes, empty strings)', (t) => {
  const file = path.join(tmpDir(), 'meta.safetensors');
  const metadata = {
    format: 'pt',
    '': 'empty key',
    empty: '',
    quotes: 'say "hi" \\ back\\slash',
    control: 'line1\nline2\ttab\u0000nul',
    unicode: 'Mond 月 🌙',
    '10': 'an integer-like key',
    json: JSON.stringify({ lr: 0.02, steps: [1, 2] }),
  };
  io.saveSafetensors(file, { w: tensor([1, 2, 3], [3]) }, metadata);
  t.deepEqual(io.loadSafetensors(file).metadata, metadata);
  t.deepEqual(io.readSafetensorsHeader(file).metadata, metadata);
  // {} is written as an empty __metadata__ and read back as {}
  io.saveSafetensors(file, { w: tensor([1], [1]) }, {});
  t.true(splitFile(fs.readFileSync(file)).text.startsWith('{"__metadata__":{},'));
  t.deepEqual(io.loadSafetensors(file).metadata, {});
});

test('header alignment: 8 + N is a multiple of 8, padded with spaces, for every name length', (t) => {
  const dir = tmpDir();
  for (let len = 1; len <= 24; len++) {
    const file = path.join(dir, `align${len}.safetensors`);
    io.saveSafetensors(file, { ['n'.repeat(len)]: tensor([1, 2, 3], [3], { dtype: 'bf16' }) }, len % 2 ? { k: 'v'.repeat(len) } : undefined);
    const buf = fs.readFileSync(file);
    const n = Number(buf.readBigUInt64LE(0));
    t.is((8 + n) % 8, 0, `name length ${len}: 8 + ${n}`);
    const text = buf.subarray(8, 8 + n).toString('utf8');
    const json = text.trimEnd();
    t.true(text.length - json.length < 8, 'fewer than 8 padding bytes');
    t.true(/^ *$/.test(text.slice(json.length)), 'padding is spaces');
    t.notThrows(() => JSON.parse(json));
    t.is(io.readSafetensorsHeader(file).dataStart, 8 + n);
    t.is(buf.length, 8 + n + 6);
  }
});

test('the writer produces the exact bytes the spec prescribes (hand-built expected file)', (t) => {
  const file = path.join(tmpDir(), 'exact.safetensors');
  io.saveSafetensors(
    file,
    new Map([
      ['a', tensor([1, -2], [2])],
      ['b', tensor([1, 0.5, -0], [1, 3], { dtype: 'bf16' })],
    ]),
    { format: 'pt' },
  );
  // 142 bytes of compact JSON (the reference writer's form: __metadata__ first, then each tensor
  // as dtype, shape, data_offsets), padded with 2 spaces to N = 144 so that 8 + N = 152 = 19 * 8.
  const json =
    '{"__metadata__":{"format":"pt"},' +
    '"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},' +
    '"b":{"dtype":"BF16","shape":[1,3],"data_offsets":[8,14]}}';
  t.is(json.length, 142);
  const expected = [
    ...[144, 0, 0, 0, 0, 0, 0, 0], // u64 little-endian header length
    ...Array.from(json, (c) => c.charCodeAt(0)),
    0x20,
    0x20,
    ...[0x00, 0x00, 0x80, 0x3f], // f32  1.0 = 0x3f800000, little-endian
    ...[0x00, 0x00, 0x00, 0xc0], // f32 -2.0 = 0xc0000000
    ...[0x80, 0x3f], // bf16  1.0 = 0x3f80
    ...[0x00, 0x3f], // bf16  0.5 = 0x3f00
    ...[0x00, 0x80], // bf16 -0.0 = 0x8000
  ];
  const got = [...fs.readFileSync(file)];
  t.is(got.length, 8 + 144 + 14);
  t.deepEqual(got, expected);
});

// ---------------------------------------------------------------------------------------------
// hand-written files: F16, F64, integers, scalars
// ---------------------------------------------------------------------------------------------

/** The value of a float16 bit pattern, computed in float64 from the definition. */
function f16Value(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? Number.NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + m / 1024);
}

test('a hand-written F16 file loads exactly (normals, subnormals, ±0, ±inf, NaN)', (t) => {
  const dir = tmpDir();
  const patterns = [0x3c00, 0xc000, 0x0001, 0x03ff, 0x0400, 0x7bff, 0x7c00, 0xfc00, 0x7e00, 0x8000, 0x3555, 0x8200];
  const values = [1, -2, 2 ** -24, 1023 * 2 ** -24, 2 ** -14, 65504, Infinity, -Infinity, Number.NaN, -0, 0.333251953125, -(2 ** -15)];
  const data = Buffer.alloc(24);
  patterns.forEach((p, i) => data.writeUInt16LE(p, 2 * i));
  const header = '{"h":{"dtype":"F16","shape":[3,4],"data_offsets":[0,24]}}';
  t.is(header.length, 57);
  const file = write(path.join(dir, 'f16.safetensors'), Buffer.concat([Buffer.from([64, 0, 0, 0, 0, 0, 0, 0]), Buffer.from(header + ' '.repeat(7)), data]));
  const { tensors } = io.loadSafetensors(file);
  const h = tensors.get('h')!;
  t.deepEqual(h.shape, [3, 4]);
  t.is(h.dtype, 'f32', 'F16 loads as f32 by default');
  const got = h.toFloat32Array();
  values.forEach((v, i) => t.true(Object.is(got[i], v), `0x${patterns[i].toString(16)}: got ${got[i]}, want ${v}`));

  // all 65536 patterns, checked against the float64 definition (NaN payloads kept)
  const all = Buffer.alloc(65536 * 2);
  for (let p = 0; p < 65536; p++) all.writeUInt16LE(p, 2 * p);
  const every = write(path.join(dir, 'f16all.safetensors'), buildFile({ all: { dtype: 'F16', shape: [256, 256], data_offsets: [0, 131072] } }, all));
  const prev = _setChunkBytesForTests(1000); // several chunks, one ending mid-tensor
  try {
    const f32 = io.loadSafetensors(every).tensors.get('all')!.toFloat32Array();
    const bits = bitsOf(f32);
    let bad = -1;
    for (let p = 0; p < 65536; p++) {
      const want = f16Value(p);
      const ok = Number.isNaN(want)
        ? bits[p] === ((((p & 0x8000) << 16) | 0x7f800000 | ((p & 0x3ff) << 13)) >>> 0)
        : Object.is(f32[p], want);
      if (!ok) {
        bad = p;
        break;
      }
    }
    t.is(bad, -1, `f16 0x${bad.toString(16)}: got ${f32[bad]}, want ${f16Value(bad)}`);
    // and converted to bf16 on load: the same as rounding the exact values
    const asBf16 = io.loadSafetensors(every, { dtype: 'bf16' }).tensors.get('all')!;
    t.is(asBf16.dtype, 'bf16');
    const ref = tensor(f32, [256, 256], { dtype: 'bf16' }).toFloat32Array();
    const g = asBf16.toFloat32Array();
    t.true(
      Array.from(g).every((v, i) => Object.is(v, ref[i]) || (Number.isNaN(v) && Number.isNaN(ref[i]))),
      'F16 -> bf16 matches rounding the exact value',
    );
  } finally {
    _setChunkBytesForTests(prev);
  }
});

test('F64 loads as f32 rounded to nearest; integers, scalars and rank 5 need raw: true', (t) => {
  const dir = tmpDir();
  const f64 = new Float64Array([0.1, -1 / 3, 1e300, 2 ** -1074, 1.5]);
  const i32 = new Int32Array([-1, 2 ** 31 - 1, 7]);
  const i64 = new BigInt64Array([-(2n ** 63n), 42n]);
  const u8 = new Uint8Array([0, 255, 9]);
  const scalar = new Float32Array([3.25]);
  const r5 = new Float32Array([1, 2]);
  const f4 = new Uint8Array([0x21, 0x43]); // four packed 4-bit values
  const parts: [string, string, number[], Uint8Array][] = [
    ['f64', 'F64', [5], new Uint8Array(f64.buffer)],
    ['i32', 'I32', [3], new Uint8Array(i32.buffer)],
    ['i64', 'I64', [1, 2], new Uint8Array(i64.buffer)],
    ['u8', 'U8', [3], u8],
    ['scalar', 'F32', [], new Uint8Array(scalar.buffer)],
    ['r5', 'F32', [1, 1, 2, 1, 1], new Uint8Array(r5.buffer)],
    ['f4', 'F4', [4], f4],
    ['bool', 'BOOL', [1], new Uint8Array([1])],
  ];
  const header: Record<string, unknown> = {};
  let off = 0;
  for (const [name, dtype, shape, bytes] of parts) {
    header[name] = { dtype, shape, data_offsets: [off, off + bytes.length] };
    off += bytes.length;
  }
  const file = write(path.join(dir, 'mixed.safetensors'), buildFile(header, Buffer.concat(parts.map((p) => p[3]))));

  const f = io.loadSafetensors(file, { names: ['f64'] }).tensors.get('f64')!;
  t.is(f.dtype, 'f32');
  t.deepEqual(Array.from(f.toFloat32Array()), Array.from(f64, Math.fround));

  const raw = io.loadSafetensors(file, { raw: true }).tensors;
  t.deepEqual([...raw.keys()], parts.map((p) => p[0]));
  t.deepEqual(raw.get('f64'), { dtype: 'F64', shape: [5], data: f64 });
  t.deepEqual(raw.get('i32'), { dtype: 'I32', shape: [3], data: i32 });
  t.deepEqual(raw.get('i64'), { dtype: 'I64', shape: [1, 2], data: i64 });
  t.deepEqual(raw.get('u8'), { dtype: 'U8', shape: [3], data: u8 });
  t.deepEqual(raw.get('scalar'), { dtype: 'F32', shape: [], data: scalar });
  t.deepEqual(raw.get('r5'), { dtype: 'F32', shape: [1, 1, 2, 1, 1], data: r5 });
  t.deepEqual(raw.get('f4'), { dtype: 'F4', shape: [4], data: f4 });
  t.deepEqual(raw.get('bool'), { dtype: 'BOOL', shape: [1], data: new Uint8Array([1]) });

  assertBad(t, () => io.loadSafetensors(file), file, 'i32', /dtype I32: only float tensors .* can become Tensors.*raw: true/, 'I32 without raw');
  assertBad(t, () => io.loadSafetensors(file, { names: ['i64'] }), file, 'i64', /only float tensors/, 'I64 without raw');
  assertBad(t, () => io.loadSafetensors(file, { names: ['scalar'] }), file, 'scalar', /rank 0; moontrain Tensors have rank 1 to 4/, 'scalar');
  assertBad(t, () => io.loadSafetensors(file, { names: ['r5'] }), file, 'r5', /rank 5/, 'rank 5');
});

// ---------------------------------------------------------------------------------------------
// names filter, dtype conversion, chunked reads
// ---------------------------------------------------------------------------------------------

function sampleCheckpoint(rng: Rng): Map<string, Tensor> {
  return new Map<string, Tensor>([
    ['embed', randomTensor(rng, [11, 6], 'bf16')],
    ['10', randomTensor(rng, [5], 'f32')], // an integer-like name (JSON.parse would move it first)
    ['2', randomTensor(rng, [2, 3, 4], 'f32')],
    ['head', randomTensor(rng, [6, 3, 1, 2], 'bf16')],
  ]);
}

test('names: only the tensors asked for, in that order; an absent name is an Error', (t) => {
  const file = path.join(tmpDir(), 'names.safetensors');
  const saved = sampleCheckpoint(mulberry32(13));
  io.saveSafetensors(file, saved);
  t.deepEqual([...io.loadSafetensors(file).tensors.keys()], ['embed', '10', '2', 'head'], 'file order, not JSON.parse order');
  const { tensors } = io.loadSafetensors(file, { names: ['head', '2', 'head'] });
  t.deepEqual([...tensors.keys()], ['head', '2']);
  assertSameTensor(t, tensors.get('head'), saved.get('head')!, 'head');
  assertSameTensor(t, tensors.get('2'), saved.get('2')!, '2');
  t.is(io.loadSafetensors(file, { names: [] }).tensors.size, 0);
  assertBad(t, () => io.loadSafetensors(file, { names: ['embed', 'lm_head'] }), file, 'lm_head', /no such tensor in the file/, 'absent name');
});

test('dtype conversion on load: f32 -> bf16 rounds to nearest even, bf16 -> f32 is exact', (t) => {
  const file = path.join(tmpDir(), 'conv.safetensors');
  const saved = sampleCheckpoint(mulberry32(14));
  io.saveSafetensors(file, saved);
  for (const target of ['f32', 'bf16'] as const) {
    const { tensors } = io.loadSafetensors(file, { dtype: target });
    for (const [name, orig] of saved) {
      const want = tensor(orig.toFloat32Array(), orig.shape, { dtype: target });
      assertSameTensor(t, tensors.get(name), want, `${name} (${orig.dtype}) -> ${target}`);
    }
  }
});

test('chunked reads and writes: tiny chunks give the same tensors', (t) => {
  const rng = mulberry32(15);
  const dir = tmpDir();
  const saved = new Map<string, Tensor>([
    ['a', randomTensor(rng, [37, 13], 'f32')],
    ['b', randomTensor(rng, [3, 41, 5], 'bf16')],
    ['c', randomTensor(rng, [1], 'bf16')],
  ]);
  const big = path.join(dir, 'big.safetensors');
  io.saveSafetensors(big, saved);
  for (const chunk of [8, 24, 1000]) {
    const prev = _setChunkBytesForTests(chunk);
    try {
      const small = path.join(dir, `small${chunk}.safetensors`);
      io.saveSafetensors(small, saved);
      t.deepEqual(fs.readFileSync(small), fs.readFileSync(big), `chunk ${chunk}: same bytes written`);
      for (const dtype of [undefined, 'f32', 'bf16'] as const) {
        const { tensors } = io.loadSafetensors(small, { dtype });
        for (const [name, orig] of saved) {
          const want = dtype ? tensor(orig.toFloat32Array(), orig.shape, { dtype }) : orig;
          assertSameTensor(t, tensors.get(name), want, `chunk ${chunk} ${name} -> ${dtype}`);
        }
      }
    } finally {
      _setChunkBytesForTests(prev);
    }
  }
});

// ---------------------------------------------------------------------------------------------
// directories and sharded checkpoints
// ---------------------------------------------------------------------------------------------

function writeSharded(dir: string, rng: Rng): Map<string, Tensor> {
  const s1 = new Map([
    ['model.embed.weight', randomTensor(rng, [9, 4], 'bf16')],
    ['model.layers.0.attn.q.weight', randomTensor(rng, [4, 4], 'bf16')],
  ]);
  const s2 = new Map([
    ['model.layers.0.mlp.experts', randomTensor(rng, [3, 4, 5], 'bf16')],
    ['model.norm.weight', randomTensor(rng, [4], 'f32')],
  ]);
  io.saveSafetensors(path.join(dir, 'model-00001-of-00002.safetensors'), s1, { format: 'pt' });
  io.saveSafetensors(path.join(dir, 'model-00002-of-00002.safetensors'), s2, { format: 'pt', shard: '2' });
  const index = {
    metadata: { total_size: 72 + 32 + 120 + 16 },
    weight_map: {
      'model.embed.weight': 'model-00001-of-00002.safetensors',
      'model.layers.0.mlp.experts': 'model-00002-of-00002.safetensors',
      'model.layers.0.attn.q.weight': 'model-00001-of-00002.safetensors',
      'model.norm.weight': 'model-00002-of-00002.safetensors',
    },
  };
  fs.writeFileSync(path.join(dir, 'model.safetensors.index.json'), JSON.stringify(index, null, 2));
  return new Map([...s1, ...s2]);
}

test('sharded checkpoint: index.json + 2 shards, loaded from the directory or the index file', (t) => {
  const dir = tmpDir();
  const saved = writeSharded(dir, mulberry32(16));
  const order = ['model.embed.weight', 'model.layers.0.mlp.experts', 'model.layers.0.attn.q.weight', 'model.norm.weight'];
  for (const where of [dir, path.join(dir, 'model.safetensors.index.json')]) {
    const { tensors, metadata } = io.loadSafetensorsDir(where);
    t.deepEqual([...tensors.keys()], order, 'weight_map order');
    for (const [name, want] of saved) assertSameTensor(t, tensors.get(name), want, name);
    t.deepEqual(metadata, { format: 'pt', shard: '2', total_size: '240' }, 'shard metadata merged with the index metadata (as strings)');
  }
  // names + dtype pass through; only the shard holding the names is read: corrupt the other one
  fs.writeFileSync(path.join(dir, 'model-00001-of-00002.safetensors'), 'garbage');
  const { tensors } = io.loadSafetensorsDir(dir, { names: ['model.norm.weight'], dtype: 'bf16' });
  t.deepEqual([...tensors.keys()], ['model.norm.weight']);
  assertSameTensor(t, tensors.get('model.norm.weight'), tensor(saved.get('model.norm.weight')!.toFloat32Array(), [4], { dtype: 'bf16' }), 'filtered');
  assertBad(
    t,
    () => io.loadSafetensorsDir(dir),
    path.join(dir, 'model-00001-of-00002.safetensors'),
    undefined,
    /header length .* runs past the end of the file|shorter than the 8-byte/,
    'a corrupt shard is named',
  );
});

test('sharded checkpoint errors: missing shard, name absent from its shard, unknown name, bad index', (t) => {
  const dir = tmpDir();
  writeSharded(dir, mulberry32(17));
  const indexFile = path.join(dir, 'model.safetensors.index.json');
  const index = JSON.parse(fs.readFileSync(indexFile, 'utf8'));
  const withIndex = (mutate: (ix: any) => void): void => {
    const ix = JSON.parse(JSON.stringify(index));
    mutate(ix);
    fs.writeFileSync(indexFile, JSON.stringify(ix));
  };

  withIndex((ix) => (ix.weight_map['model.norm.weight'] = 'model-00003-of-00003.safetensors'));
  assertBad(t, () => io.loadSafetensorsDir(dir), path.join(dir, 'model-00003-of-00003.safetensors'), undefined, /cannot open the shard listed in .*index\.json.*ENOENT/, 'missing shard');

  withIndex((ix) => (ix.weight_map['model.norm.weight'] = 'model-00001-of-00002.safetensors'));
  assertBad(
    t,
    () => io.loadSafetensorsDir(dir),
    path.join(dir, 'model-00001-of-00002.safetensors'),
    'model.norm.weight',
    /no such tensor in this shard, though .*index\.json maps it here/,
    'name absent from its shard',
  );

  withIndex(() => undefined);
  assertBad(t, () => io.loadSafetensorsDir(dir, { names: ['lm_head.weight'] }), indexFile, 'lm_head.weight', /no such tensor in the index's weight_map/, 'unknown name');

  withIndex((ix) => (ix.weight_map['model.norm.weight'] = '../outside.safetensors'));
  assertBad(t, () => io.loadSafetensorsDir(dir), indexFile, 'model.norm.weight', /not a file inside the checkpoint directory/, 'path escaping the directory');

  withIndex((ix) => (ix.weight_map['model.norm.weight'] = 3));
  assertBad(t, () => io.loadSafetensorsDir(dir), indexFile, 'model.norm.weight', /must map the tensor to a shard file name/, 'non-string shard');

  withIndex((ix) => delete ix.weight_map);
  assertBad(t, () => io.loadSafetensorsDir(dir), indexFile, undefined, /'weight_map' must be an object/, 'no weight_map');

  fs.writeFileSync(indexFile, '{"weight_map": ');
  assertBad(t, () => io.loadSafetensorsDir(dir), indexFile, undefined, /not valid JSON/, 'index not JSON');
});

test('loadSafetensorsDir: a single file, a directory with model.safetensors, and a directory with neither', (t) => {
  const dir = tmpDir();
  const saved = sampleCheckpoint(mulberry32(18));
  const file = path.join(dir, 'model.safetensors');
  io.saveSafetensors(file, saved, { format: 'pt' });
  for (const where of [file, dir]) {
    const { tensors, metadata } = io.loadSafetensorsDir(where, { names: ['2', 'embed'] });
    t.deepEqual([...tensors.keys()], ['2', 'embed']);
    assertSameTensor(t, tensors.get('embed'), saved.get('embed')!, `embed from ${where}`);
    t.deepEqual(metadata, { format: 'pt' });
  }
  const empty = tmpDir();
  assertBad(t, () => io.loadSafetensorsDir(empty), empty, undefined, /neither model\.safetensors nor model\.safetensors\.index\.json/, 'empty dir');
  const missing = path.join(empty, 'nope');
  assertBad(t, () => io.loadSafetensorsDir(missing), missing, undefined, /cannot open: .*ENOENT/, 'missing path');
  assertBad(t, () => io.loadSafetensors(missing), missing, undefined, /cannot open: .*ENOENT/, 'missing file');
  assertBad(t, () => io.loadSafetensors(dir), dir, undefined, /not a regular file/, 'a directory given to loadSafetensors');
});

// ---------------------------------------------------------------------------------------------
// atomic write, and the writer's argument checks
// ---------------------------------------------------------------------------------------------

test('atomic write: an existing file is replaced, no .tmp is left, and a failed save leaves the old file', (t) => {
  const dir = tmpDir();
  const file = path.join(dir, 'ckpt.safetensors');
  io.saveSafetensors(file, { w: tensor([1, 2], [2]) }, { step: '1' });
  io.saveSafetensors(file, { w: tensor([3, 4, 5], [3], { dtype: 'bf16' }) }, { step: '2' });
  t.deepEqual(fs.readdirSync(dir), ['ckpt.safetensors'], 'no temporary file left');
  const { tensors, metadata } = io.loadSafetensors(file);
  t.deepEqual(metadata, { step: '2' });
  t.deepEqual(Array.from(tensors.get('w')!.toFloat32Array()), [3, 4, 5]);
  const before = fs.readFileSync(file);

  // The temporary file is <file>.tmp-<pid> (plus -<threadId> in a worker thread, where ava runs
  // this file): block that path, and the save fails before touching file.
  const tmp = `${file}.tmp-${process.pid}${threadId ? `-${threadId}` : ''}`;
  fs.mkdirSync(tmp);
  t.throws(() => io.saveSafetensors(file, { w: tensor([9], [1]) }), { code: 'EISDIR' });
  fs.rmdirSync(tmp);
  t.deepEqual(fs.readFileSync(file), before, 'the old file is intact');

  // A bad argument fails before anything is written.
  const gone = tensor([1], [1]);
  gone.dispose();
  t.throws(() => io.saveSafetensors(file, { ok: tensor([1], [1]), gone }), { code: 'ERR_MOONTRAIN_INVALID_ARGUMENT' });
  t.deepEqual(fs.readFileSync(file), before);
  // A missing directory: the fs error, nothing left behind.
  t.throws(() => io.saveSafetensors(path.join(dir, 'no', 'such.safetensors'), { w: tensor([1], [1]) }), { code: 'ENOENT' });
  t.deepEqual(fs.readdirSync(dir), ['ckpt.safetensors']);
});

test('invalid arguments are moontrain invalid-argument Errors', (t) => {
  const file = path.join(tmpDir(), 'args.safetensors');
  const gone = tensor([1], [1]);
  gone.dispose();
  const ok = tensor([1], [1]);
  assertInvalidArg(t, () => io.saveSafetensors(any(42), { ok }), 'saveSafetensors', 'file');
  assertInvalidArg(t, () => io.saveSafetensors(file, any(null)), 'saveSafetensors', 'tensors');
  assertInvalidArg(t, () => io.saveSafetensors(file, any([ok])), 'saveSafetensors', 'tensors');
  assertInvalidArg(t, () => io.saveSafetensors(file, any({ x: new Float32Array(1) })), 'saveSafetensors', "tensors['x']", /a Tensor/);
  assertInvalidArg(t, () => io.saveSafetensors(file, { gone }), 'saveSafetensors', "tensors['gone']", /disposed/);
  assertInvalidArg(t, () => io.saveSafetensors(file, { __metadata__: ok }), 'saveSafetensors', 'tensors', /reserved/);
  assertInvalidArg(t, () => io.saveSafetensors(file, any(new Map([[1, ok]]))), 'saveSafetensors', 'tensors', /string tensor names/);
  assertInvalidArg(t, () => io.saveSafetensors(file, { ok }, any({ step: 1 })), 'saveSafetensors', "metadata['step']");
  assertInvalidArg(t, () => io.saveSafetensors(file, { ok }, any('x')), 'saveSafetensors', 'metadata');
  t.false(fs.existsSync(file), 'nothing written');
  io.saveSafetensors(file, { ok });
  assertInvalidArg(t, () => io.loadSafetensors(file, any({ dtype: 'f16' })), 'loadSafetensors', 'options.dtype');
  assertInvalidArg(t, () => io.loadSafetensors(file, any({ names: 'ok' })), 'loadSafetensors', 'options.names');
  assertInvalidArg(t, () => io.loadSafetensors(file, any({ raw: 1 })), 'loadSafetensors', 'options.raw');
  assertInvalidArg(t, () => io.loadSafetensors(file, { raw: true, dtype: 'f32' } as any), 'loadSafetensors', 'options.dtype');
  assertInvalidArg(t, () => io.loadSafetensors(file, any(5)), 'loadSafetensors', 'options');
  assertInvalidArg(t, () => io.loadSafetensorsDir(any(undefined)), 'loadSafetensorsDir', 'dirOrFile');
  assertInvalidArg(t, () => io.readSafetensorsHeader(''), 'readSafetensorsHeader', 'file');
});

// ---------------------------------------------------------------------------------------------
// malformed files
// ---------------------------------------------------------------------------------------------

// The valid base file: a F32 [2,3] (24 bytes), b BF16 [4] (8 bytes), c F32 [1] (4 bytes).
function baseFile(): Buffer {
  const f = path.join(tmpDir(), 'base.safetensors');
  io.saveSafetensors(
    f,
    new Map([
      ['a', tensor([1, 2, 3, 4, 5, 6], [2, 3])],
      ['b', tensor([1, 2, 3, 4], [4], { dtype: 'bf16' })],
      ['c', tensor([7], [1])],
    ]),
    { format: 'pt' },
  );
  return fs.readFileSync(f);
}

type Mutation = (buf: Buffer) => Buffer;

/** Edits the parsed header (then re-serialises it with a matching length). */
const header = (edit: (h: any) => void): Mutation => (buf) => {
  const { header: h, data } = splitFile(buf);
  edit(h);
  return buildFile(h, data);
};
/** Edits the header text. */
const headerText = (edit: (s: string) => string, pad = true): Mutation => (buf) => {
  const { text, data } = splitFile(buf);
  return buildFile(edit(text.trimEnd()), data, pad);
};
const setLength = (n: bigint): Mutation => (buf) => {
  const b = Buffer.from(buf);
  b.writeBigUInt64LE(n, 0);
  return b;
};

interface BadRow {
  what: string;
  mutate: Mutation;
  tensor?: string;
  message: RegExp;
  /** The header is valid; only turning the data into Tensors fails. */
  loadOnly?: boolean;
}

const BAD_ROWS: BadRow[] = [
  { what: 'file shorter than 8 bytes', mutate: (b) => b.subarray(0, 5), message: /the file is 5 bytes, shorter than the 8-byte header length/ },
  { what: 'empty file', mutate: () => Buffer.alloc(0), message: /the file is 0 bytes/ },
  { what: 'header length 0', mutate: setLength(0n), message: /the header length is 0/ },
  { what: 'header length over 100 MB', mutate: setLength(100_000_001n), message: /header length 100000001 is over the 100000000-byte limit/ },
  { what: 'header length 2^64 - 1', mutate: setLength(2n ** 64n - 1n), message: /header length 18446744073709551615 is over/ },
  { what: 'header length beyond the file', mutate: (b) => setLength(BigInt(b.length - 7))(b), message: /runs past the end of the file/ },
  { what: 'header not JSON', mutate: headerText((s) => `<${s.slice(1)}`), message: /the header is not valid JSON/ },
  { what: 'header JSON cut short', mutate: headerText((s) => s.slice(0, 40)), message: /the header is not valid JSON/ },
  { what: 'header a JSON array', mutate: headerText(() => '[1,2]'), message: /must be a JSON object, got an array/ },
  { what: 'header JSON null', mutate: headerText(() => 'null'), message: /must be a JSON object, got null/ },
  { what: 'header a JSON string', mutate: headerText(() => '"a"'), message: /must be a JSON object, got the string/ },
  { what: 'header padded with NULs', mutate: headerText((s) => `${s}\0\0`, false), message: /not valid JSON/ },
  { what: 'header with a byte-order mark', mutate: headerText((s) => `\ufeff${s}`), message: /not valid JSON/ },
  {
    what: 'header not UTF-8',
    mutate: (b) => {
      const c = Buffer.from(b);
      c[c.indexOf('"pt"') + 1] = 0xff;
      return c;
    },
    message: /the header is not valid UTF-8/,
  },
  { what: 'duplicate tensor name', mutate: headerText((s) => s.replace('"c":{', '"a":{')), tensor: 'a', message: /duplicate key "a"/ },
  { what: 'duplicate field in an entry', mutate: headerText((s) => s.replace('"b":{"dtype":"BF16",', '"b":{"dtype":"BF16","dtype":"F16",')), tensor: 'b', message: /duplicate key "dtype"/ },
  { what: 'entry not an object', mutate: header((h) => (h.b = 5)), tensor: 'b', message: /header entry must be an object/ },
  { what: 'entry an array', mutate: header((h) => (h.b = ['BF16', [4], [24, 32]])), tensor: 'b', message: /header entry must be an object.*got an array/ },
  { what: 'missing dtype', mutate: header((h) => delete h.a.dtype), tensor: 'a', message: /has no 'dtype'/ },
  { what: 'missing shape', mutate: header((h) => delete h.b.shape), tensor: 'b', message: /has no 'shape'/ },
  { what: 'missing data_offsets', mutate: header((h) => delete h.c.data_offsets), tensor: 'c', message: /has no 'data_offsets'/ },
  { what: 'dtype not a string', mutate: header((h) => (h.a.dtype = 32)), tensor: 'a', message: /'dtype' must be a string, got number 32/ },
  { what: 'unknown dtype', mutate: header((h) => (h.a.dtype = 'F33')), tensor: 'a', message: /unknown dtype "F33"/ },
  { what: 'lower-case dtype', mutate: header((h) => (h.a.dtype = 'f32')), tensor: 'a', message: /unknown dtype "f32"/ },
  { what: 'dtype "toString"', mutate: header((h) => (h.a.dtype = 'toString')), tensor: 'a', message: /unknown dtype "toString"/ },
  { what: 'shape not an array', mutate: header((h) => (h.a.shape = 6)), tensor: 'a', message: /'shape' must be an array of non-negative integers, got 6/ },
  { what: 'negative shape entry', mutate: header((h) => (h.a.shape = [-2, -3])), tensor: 'a', message: /'shape' must be .* got \[-2,-3\]/ },
  { what: 'fractional shape entry', mutate: header((h) => (h.a.shape = [4, 1.5])), tensor: 'a', message: /'shape' must be/ },
  { what: 'shape entry a string', mutate: header((h) => (h.a.shape = ['2', 3])), tensor: 'a', message: /'shape' must be/ },
  { what: 'shape entry beyond 2^53', mutate: header((h) => (h.a.shape = [2 ** 60, 1])), tensor: 'a', message: /'shape' must be/ },
  { what: 'shape product overflow', mutate: header((h) => (h.a.shape = [2 ** 30, 2 ** 30, 2 ** 30])), tensor: 'a', message: /more than can be addressed/ },
  { what: 'byte count of the product overflows', mutate: header((h) => (h.a.shape = [2 ** 26, 2 ** 26])), tensor: 'a', message: /more than can be addressed/ },
  { what: 'sub-byte dtype not a whole number of bytes', mutate: header((h) => ((h.c.dtype = 'F4'), (h.c.shape = [3]))), tensor: 'c', message: /not a whole number of bytes/ },
  { what: 'data_offsets reversed', mutate: header((h) => (h.a.data_offsets = [24, 0])), tensor: 'a', message: /'data_offsets' must be \[begin, end\].*got \[24,0\]/ },
  { what: 'data_offsets of length 3', mutate: header((h) => h.a.data_offsets.push(36)), tensor: 'a', message: /'data_offsets' must be/ },
  { what: 'data_offsets negative', mutate: header((h) => (h.a.data_offsets = [-8, 16])), tensor: 'a', message: /'data_offsets' must be/ },
  { what: 'data_offsets fractional', mutate: header((h) => (h.a.data_offsets = [0, 23.5])), tensor: 'a', message: /'data_offsets' must be/ },
  { what: 'data_offsets strings', mutate: header((h) => (h.a.data_offsets = ['0', '24'])), tensor: 'a', message: /'data_offsets' must be/ },
  { what: 'data_offsets end beyond the buffer', mutate: header((h) => (h.c.data_offsets = [32, 40])), tensor: 'c', message: /end beyond the byte buffer \(36 bytes/ },
  { what: 'file truncated', mutate: (b) => b.subarray(0, b.length - 2), tensor: 'c', message: /end beyond the byte buffer \(34 bytes; is the file truncated/ },
  { what: 'byte size != product(shape) * dtype size', mutate: header((h) => (h.a.shape = [2, 2])), tensor: 'a', message: /hold 24 bytes, but shape \[2,2\] of F32 needs 16/ },
  { what: 'dtype size disagrees with the range', mutate: header((h) => (h.b.dtype = 'F32')), tensor: 'b', message: /hold 8 bytes, but shape \[4\] of F32 needs 16/ },
  { what: 'overlapping tensors', mutate: header((h) => (h.b.data_offsets = [20, 28])), tensor: 'b', message: /overlap tensor 'a' at \[0, 24\]/ },
  { what: 'two tensors on the same bytes', mutate: header((h) => ((h.c.dtype = 'BF16'), (h.c.shape = [2]), (h.c.data_offsets = [24, 28]))), tensor: 'b', message: /overlap tensor 'c' at \[24, 28\]/ },
  { what: 'a gap between tensors', mutate: header((h) => delete h.b), tensor: 'c', message: /bytes \[24, 32\) .* belong to no tensor \(the format forbids holes\)/ },
  { what: 'a gap at the start', mutate: header((h) => delete h.a), tensor: 'b', message: /bytes \[0, 24\) .* belong to no tensor/ },
  { what: 'trailing bytes after the last tensor', mutate: (b) => Buffer.concat([b, Buffer.alloc(4)]), tensor: 'c', message: /bytes \[36, 40\) at the end of the byte buffer belong to no tensor/ },
  { what: 'bytes but no tensors', mutate: header((h) => (delete h.a, delete h.b, delete h.c)), message: /bytes \[0, 36\) at the end of the byte buffer belong to no tensor/ },
  { what: '__metadata__ not an object', mutate: header((h) => (h.__metadata__ = 'pt')), message: /'__metadata__' must be an object of strings, got the string "pt"/ },
  { what: '__metadata__ an array', mutate: header((h) => (h.__metadata__ = ['pt'])), message: /'__metadata__' must be an object of strings, got an array/ },
  { what: '__metadata__ value not a string', mutate: header((h) => (h.__metadata__.step = 100)), message: /'__metadata__' must map strings to strings; key "step" holds number 100/ },
  { what: 'integer dtype loaded as a Tensor', mutate: header((h) => (h.a.dtype = 'I32')), tensor: 'a', message: /dtype I32: only float tensors/, loadOnly: true },
  { what: 'rank-0 scalar loaded as a Tensor', mutate: header((h) => (h.c.shape = [])), tensor: 'c', message: /rank 0/, loadOnly: true },
  { what: 'rank-5 tensor loaded as a Tensor', mutate: header((h) => (h.a.shape = [1, 2, 1, 3, 1])), tensor: 'a', message: /rank 5/, loadOnly: true },
];

test(`malformed files: ${BAD_ROWS.length} mutations of a valid file each give the documented Error`, (t) => {
  t.true(BAD_ROWS.length >= 15);
  const base = baseFile();
  const dir = tmpDir();
  const good = write(path.join(dir, 'good.safetensors'), base);
  t.is(io.loadSafetensors(good).tensors.size, 3, 'the base file is valid');
  BAD_ROWS.forEach((row, i) => {
    const file = write(path.join(dir, `bad${i}.safetensors`), row.mutate(Buffer.from(base)));
    const label = `#${i} ${row.what}`;
    assertBad(t, () => io.loadSafetensors(file), file, row.tensor, row.message, `${label} (loadSafetensors)`);
    assertBad(t, () => io.loadSafetensorsDir(file), file, row.tensor, row.message, `${label} (loadSafetensorsDir)`);
    if (row.loadOnly) {
      t.notThrows(() => io.readSafetensorsHeader(file), `${label}: the header itself is valid`);
      t.notThrows(() => io.loadSafetensors(file, { raw: true }), `${label}: raw: true loads it`);
    } else {
      assertBad(t, () => io.readSafetensorsHeader(file), file, row.tensor, row.message, `${label} (readSafetensorsHeader)`);
    }
  });
});

test('fuzz: corrupted and truncated files either load or throw the documented Error, never anything else', (t) => {
  const rng = mulberry32(19);
  const base = baseFile();
  const dir = tmpDir();
  const file = path.join(dir, 'fuzz.safetensors');
  const headerEnd = 8 + Number(base.readBigUInt64LE(0));
  let loaded = 0;
  let rejected = 0;
  for (let i = 0; i < 400; i++) {
    const b = Buffer.from(base);
    const kind = i % 4;
    let bytes: Buffer = b;
    if (kind === 0) {
      b[randInt(rng, 0, headerEnd - 1)] = randInt(rng, 0, 255); // a random header byte
    } else if (kind === 1) {
      b[randInt(rng, 8, headerEnd - 1)] = '0123456789[]{},:"- '.charCodeAt(randInt(rng, 0, 18)); // a JSON-ish byte
    } else if (kind === 2) {
      bytes = b.subarray(0, randInt(rng, 0, b.length - 1)); // truncated
    } else {
      b[randInt(rng, 0, 7)] ^= 1 << randInt(rng, 0, 7); // the length field
    }
    fs.writeFileSync(file, bytes);
    try {
      const r = io.loadSafetensors(file);
      for (const v of r.tensors.values()) v.dispose();
      loaded++;
    } catch (e) {
      if (!isBad(e)) {
        t.fail(`case ${i}: unexpected ${String(e)} for bytes ${bytes.toString('latin1')}`);
        return;
      }
      t.is(e.file, file);
      rejected++;
    }
  }
  t.true(rejected > 200, `rejected ${rejected}, loaded ${loaded}`);
});
