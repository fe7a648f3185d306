// Every bad argument throws an Error `<op>: argument '<name>': expected <what>, got <what came>`
// with properties op, argument and code === 'ERR_MOONTRAIN_INVALID_ARGUMENT' -- never a crash.
import test from 'ava';
import { tensor, ops, setNumThreads, info, debug, Tensor } from '../lib';
import { assertInvalidArg } from './helpers/util';
import { numel } from '../lib/shape';

debug.poisonAllocations(true);

const any = (v: unknown): any => v;

function mk(shape: number[], dtype: 'f32' | 'bf16' = 'f32'): Tensor {
  const n = numel(shape);
  return tensor(Float32Array.from({ length: n }, (_, i) => ((i * 7) % 11) - 5), shape, { dtype });
}

function disposed(shape: number[], dtype: 'f32' | 'bf16' = 'f32'): Tensor {
  const x = mk(shape, dtype);
  x.dispose();
  return x;
}

// operands
const a34 = mk([3, 4]);
const b45 = mk([4, 5]);
const b45h = mk([4, 5], 'bf16');
const b55 = mk([5, 5]);
const v4 = mk([4]);
const t345 = mk([3, 4, 5]);
const x10x4 = mk([10, 4]);
const x10x4h = mk([10, 4], 'bf16');
const w346 = mk([3, 4, 6]);
const w364 = mk([3, 6, 4]);
const w356 = mk([3, 5, 6]);
const w46 = mk([4, 6]);
const dy10x6 = mk([10, 6]);
const dy9x6 = mk([9, 6]);
const dy10x6h = mk([10, 6], 'bf16');
const m48 = mk([4, 8]);
const fake = { shape: [3, 4], dtype: 'f32', device: 'cpu', disposed: false, toFloat32Array: () => new Float32Array(12) };

type Row = [description: string, thunk: () => unknown, op: string, argument: string | string[] | undefined, message?: RegExp];

const NON_TENSORS: [string, unknown, RegExp | undefined][] = [
  ['null', null, /null/],
  ['undefined', undefined, /undefined/],
  ['a number', 42, /42|number/],
  ['a string', 'hello', /hello|string/],
  ['a plain object', { a: 1 }, undefined],
  ['a tensor-shaped plain object', fake, undefined],
  ['a Float32Array', new Float32Array(12), undefined],
  ['an array', [[1, 2]], undefined],
];

const rows: Row[] = [];

// ---------------------------------------------------------------------------------------------
// tensor()
// ---------------------------------------------------------------------------------------------
for (const [what, v, re] of NON_TENSORS.filter(([w]) => !['a Float32Array', 'an array'].includes(w))) {
  rows.push([`tensor: data is ${what}`, () => tensor(any(v), [2]), 'tensor', 'data', re]);
}
rows.push(
  ['tensor: data length below the shape product', () => tensor(new Float32Array(5), [2, 3]), 'tensor', ['data', 'shape'], /6|5/],
  ['tensor: data length above the shape product', () => tensor([1, 2, 3, 4, 5, 6, 7], [2, 3]), 'tensor', ['data', 'shape']],
  ['tensor: data given for a zero-size shape', () => tensor([1], [0, 5]), 'tensor', ['data', 'shape']],
  ['tensor: shape null', () => tensor([1, 2], any(null)), 'tensor', 'shape', /null/],
  ['tensor: shape undefined', () => tensor([1, 2], any(undefined)), 'tensor', 'shape', /undefined/],
  ['tensor: shape a number', () => tensor([1, 2], any(2)), 'tensor', 'shape'],
  ['tensor: shape a string', () => tensor([1, 2], any('2')), 'tensor', 'shape'],
  ['tensor: shape rank 0', () => tensor([1], []), 'tensor', 'shape'],
  ['tensor: shape rank 5', () => tensor([1], [1, 1, 1, 1, 1]), 'tensor', 'shape'],
  ['tensor: shape entry non-integer', () => tensor([1, 2, 3], [1.5, 2]), 'tensor', 'shape'],
  ['tensor: shape entry negative', () => tensor([], [-1, 4]), 'tensor', 'shape'],
  ['tensor: shape entries negative with a positive product', () => tensor([1, 2, 3, 4], [-2, -2]), 'tensor', 'shape'],
  ['tensor: shape entry NaN', () => tensor([1], [NaN]), 'tensor', 'shape'],
  ['tensor: shape entry Infinity', () => tensor([1], [Infinity]), 'tensor', 'shape'],
  ['tensor: shape entry a string', () => tensor([1, 2], any(['2'])), 'tensor', 'shape'],
  ['tensor: shape entry null', () => tensor([1, 2], any([null, 2])), 'tensor', 'shape'],
  ['tensor: shape product overflows (2^31)^3', () => tensor([], [2 ** 31, 2 ** 31, 2 ** 31]), 'tensor', 'shape'],
  ['tensor: shape product wraps to 0 in uint64 (2^32 * 2^32)', () => tensor([], [2 ** 32, 2 ** 32]), 'tensor', 'shape'],
  ['tensor: shape product wraps to 0 in uint64 (2^16)^4', () => tensor([], [65536, 65536, 65536, 65536]), 'tensor', 'shape'],
  ['tensor: shape product absurdly large (2^53)', () => tensor([], [2 ** 53]), 'tensor', 'shape'],
  ['tensor: shape product 2^40 (absurd, or at least not matching data)', () => tensor([1], [2 ** 20, 2 ** 20]), 'tensor', ['shape', 'data']],
  ['tensor: shape entry 1e300', () => tensor([1], [1e300]), 'tensor', 'shape'],
  ['tensor: unknown dtype f16', () => tensor([1], [1], any({ dtype: 'f16' })), 'tensor', 'options', /f16/],
  ['tensor: unknown dtype float32', () => tensor([1], [1], any({ dtype: 'float32' })), 'tensor', 'options', /float32/],
  ['tensor: dtype a number', () => tensor([1], [1], any({ dtype: 1 })), 'tensor', 'options'],
  ['tensor: options a number', () => tensor([1], [1], any(5)), 'tensor', 'options'],
  ['tensor: options a string', () => tensor([1], [1], any('bf16')), 'tensor', 'options'],
);

// ---------------------------------------------------------------------------------------------
// matmul
// ---------------------------------------------------------------------------------------------
for (const [what, v, re] of NON_TENSORS) {
  rows.push([`matmul: a is ${what}`, () => ops.matmul(any(v), b45), 'matmul', 'a', re]);
  rows.push([`matmul: b is ${what}`, () => ops.matmul(a34, any(v)), 'matmul', 'b', re]);
}
rows.push(
  ['matmul: no arguments', () => any(ops.matmul)(), 'matmul', 'a'],
  ['matmul: disposed a', () => ops.matmul(disposed([3, 4]), b45), 'matmul', 'a', /dispos/i],
  ['matmul: disposed b', () => ops.matmul(a34, disposed([4, 5])), 'matmul', 'b', /dispos/i],
  ['matmul: dtype mismatch f32 x bf16', () => ops.matmul(a34, b45h), 'matmul', ['a', 'b'], /bf16/],
  ['matmul: dtype mismatch bf16 x f32', () => ops.matmul(mk([3, 4], 'bf16'), b45), 'matmul', ['a', 'b'], /bf16/],
  ['matmul: inner dims mismatch', () => ops.matmul(a34, b55), 'matmul', ['a', 'b']],
  ['matmul: inner dims mismatch with transA', () => ops.matmul(a34, b45, { transA: true }), 'matmul', ['a', 'b']],
  ['matmul: inner dims mismatch with transB', () => ops.matmul(a34, b45, { transB: true }), 'matmul', ['a', 'b']],
  ['matmul: a rank 1', () => ops.matmul(v4, b45), 'matmul', 'a'],
  ['matmul: b rank 1', () => ops.matmul(a34, v4), 'matmul', 'b'],
  ['matmul: a rank 3', () => ops.matmul(t345, b55), 'matmul', 'a'],
  ['matmul: b rank 3', () => ops.matmul(a34, t345), 'matmul', 'b'],
  ['matmul: options a number', () => ops.matmul(a34, b45, any(5)), 'matmul', 'options'],
  ['matmul: options a string', () => ops.matmul(a34, b45, any('transA')), 'matmul', 'options'],
);

// ---------------------------------------------------------------------------------------------
// groupedMatmul
// ---------------------------------------------------------------------------------------------
for (const [what, v, re] of NON_TENSORS) {
  rows.push([`groupedMatmul: x is ${what}`, () => ops.groupedMatmul(any(v), w346, [3, 3, 4]), 'groupedMatmul', 'x', re]);
  rows.push([`groupedMatmul: w is ${what}`, () => ops.groupedMatmul(x10x4, any(v), [3, 3, 4]), 'groupedMatmul', 'w', re]);
}
const BAD_GROUPS: [string, unknown][] = [
  ['null', null],
  ['undefined', undefined],
  ['a number', 10],
  ['a string', '3,3,4'],
  ['a plain object', { 0: 3, 1: 3, 2: 4, length: 3 }],
  ['too short', [5, 5]],
  ['too long', [3, 3, 4, 0]],
  ['empty', []],
  ['not summing to T (less)', [3, 3, 3]],
  ['not summing to T (more)', [3, 3, 5]],
  ['with a negative entry', [3, -1, 8]],
  ['with a non-integer entry', [3, 2.5, 4.5]],
  ['with NaN', [3, NaN, 7]],
  ['with Infinity', [3, Infinity, 7]],
  ['with a string entry', [3, '3', 4]],
  ['with null', [3, null, 7]],
  ['Int32Array not summing to T', Int32Array.from([1, 1, 1])],
  ['Int32Array with a negative entry', Int32Array.from([11, -1, 0])],
  ['Int32Array of wrong length', Int32Array.from([10])],
  ['huge entries that wrap around in int32', [2 ** 31, 2 ** 31, 10]],
  ['entries summing to T modulo 2^32', [2 ** 32 - 5, 15, 0]],
];
for (const [what, g] of BAD_GROUPS) {
  rows.push([`groupedMatmul: groupSizes ${what}`, () => ops.groupedMatmul(x10x4, w346, any(g)), 'groupedMatmul', 'groupSizes']);
}
rows.push(
  ['groupedMatmul: disposed x', () => ops.groupedMatmul(disposed([10, 4]), w346, [3, 3, 4]), 'groupedMatmul', 'x', /dispos/i],
  ['groupedMatmul: disposed w', () => ops.groupedMatmul(x10x4, disposed([3, 4, 6]), [3, 3, 4]), 'groupedMatmul', 'w', /dispos/i],
  ['groupedMatmul: dtype mismatch', () => ops.groupedMatmul(x10x4h, w346, [3, 3, 4]), 'groupedMatmul', ['x', 'w'], /bf16/],
  ['groupedMatmul: w K mismatch', () => ops.groupedMatmul(x10x4, w356, [3, 3, 4]), 'groupedMatmul', 'w'],
  ['groupedMatmul: w K mismatch with transB', () => ops.groupedMatmul(x10x4, w346, [3, 3, 4], { transB: true }), 'groupedMatmul', 'w'],
  ['groupedMatmul: w K mismatch without transB ([E,N,K] given)', () => ops.groupedMatmul(x10x4, w364, [3, 3, 4]), 'groupedMatmul', 'w'],
  ['groupedMatmul: w rank 2', () => ops.groupedMatmul(x10x4, w46, [10]), 'groupedMatmul', 'w'],
  ['groupedMatmul: w rank 4', () => ops.groupedMatmul(x10x4, mk([1, 3, 4, 6]), [3, 3, 4]), 'groupedMatmul', 'w'],
  ['groupedMatmul: x rank 1', () => ops.groupedMatmul(v4, w346, [1, 1, 2]), 'groupedMatmul', 'x'],
  ['groupedMatmul: x rank 3', () => ops.groupedMatmul(t345, w346, [1, 1, 1]), 'groupedMatmul', 'x'],
  ['groupedMatmul: options a number', () => ops.groupedMatmul(x10x4, w346, [3, 3, 4], any(1)), 'groupedMatmul', 'options'],
);

// ---------------------------------------------------------------------------------------------
// groupedWeightGrad
// ---------------------------------------------------------------------------------------------
for (const [what, v, re] of NON_TENSORS) {
  rows.push([`groupedWeightGrad: x is ${what}`, () => ops.groupedWeightGrad(any(v), dy10x6, [3, 3, 4]), 'groupedWeightGrad', 'x', re]);
  rows.push([`groupedWeightGrad: dy is ${what}`, () => ops.groupedWeightGrad(x10x4, any(v), [3, 3, 4]), 'groupedWeightGrad', 'dy', re]);
}
for (const [what, g] of BAD_GROUPS.filter(([w]) => !['too short', 'too long', 'Int32Array of wrong length'].includes(w))) {
  rows.push([`groupedWeightGrad: groupSizes ${what}`, () => ops.groupedWeightGrad(x10x4, dy10x6, any(g)), 'groupedWeightGrad', 'groupSizes']);
}
rows.push(
  ['groupedWeightGrad: disposed x', () => ops.groupedWeightGrad(disposed([10, 4]), dy10x6, [10]), 'groupedWeightGrad', 'x', /dispos/i],
  ['groupedWeightGrad: disposed dy', () => ops.groupedWeightGrad(x10x4, disposed([10, 6]), [10]), 'groupedWeightGrad', 'dy', /dispos/i],
  ['groupedWeightGrad: dtype mismatch', () => ops.groupedWeightGrad(x10x4, dy10x6h, [10]), 'groupedWeightGrad', ['x', 'dy'], /bf16/],
  ['groupedWeightGrad: dy rows != x rows', () => ops.groupedWeightGrad(x10x4, dy9x6, [10]), 'groupedWeightGrad', 'dy'],
  ['groupedWeightGrad: x rank 1', () => ops.groupedWeightGrad(v4, dy10x6, [10]), 'groupedWeightGrad', 'x'],
  ['groupedWeightGrad: x rank 3', () => ops.groupedWeightGrad(t345, dy10x6, [10]), 'groupedWeightGrad', 'x'],
  ['groupedWeightGrad: dy rank 3', () => ops.groupedWeightGrad(x10x4, mk([10, 6, 1]), [10]), 'groupedWeightGrad', 'dy'],
  ['groupedWeightGrad: dy rank 1', () => ops.groupedWeightGrad(x10x4, mk([10]), [10]), 'groupedWeightGrad', 'dy'],
);

// ---------------------------------------------------------------------------------------------
// newtonSchulz
// ---------------------------------------------------------------------------------------------
for (const [what, v, re] of NON_TENSORS) {
  rows.push([`newtonSchulz: x is ${what}`, () => ops.newtonSchulz(any(v)), 'newtonSchulz', 'x', re]);
}
const BAD_NS_OPTIONS: [string, unknown][] = [
  ['a number', 5],
  ['a string', 'steps'],
  ['steps -1', { steps: -1 }],
  ['steps 1.5', { steps: 1.5 }],
  ['steps NaN', { steps: NaN }],
  ['steps Infinity', { steps: Infinity }],
  ['steps 101', { steps: 101 }],
  ['steps 1e9', { steps: 1e9 }],
  ['steps 2^32 + 5 (wraps to 5)', { steps: 2 ** 32 + 5 }],
  ['steps a string', { steps: '5' }],
  ['coefficients of length 2', { coefficients: [3.4445, -4.775] }],
  ['coefficients of length 4', { coefficients: [3.4445, -4.775, 2.0315, 1] }],
  ['coefficients a string', { coefficients: 'keller' }],
  ['coefficients a number', { coefficients: 3 }],
  ['coefficients with a string entry', { coefficients: [3.4445, '-4.775', 2.0315] }],
  ['coefficients list with a short triple', { steps: 2, coefficients: [[3.4445, -4.775, 2.0315], [1, 2]] }],
  ['coefficients list with a long triple', { steps: 2, coefficients: [[3.4445, -4.775, 2.0315], [1, 2, 3, 4]] }],
  ['coefficients list shorter than steps', { steps: 5, coefficients: [[2, -1.5, 0.5], [2, -1.5, 0.5], [2, -1.5, 0.5]] }],
  ['coefficients list longer than steps', { steps: 2, coefficients: [[2, -1.5, 0.5], [2, -1.5, 0.5], [2, -1.5, 0.5]] }],
  ['coefficients mixing a triple and numbers', { steps: 2, coefficients: [[2, -1.5, 0.5], 2, -1.5] }],
  ['eps -1', { eps: -1 }],
  ['eps NaN', { eps: NaN }],
  ['eps a string', { eps: '1e-7' }],
];
for (const [what, o] of BAD_NS_OPTIONS) {
  rows.push([`newtonSchulz: options ${what}`, () => ops.newtonSchulz(m48, any(o)), 'newtonSchulz', 'options']);
}
rows.push(
  ['newtonSchulz: disposed x', () => ops.newtonSchulz(disposed([4, 8])), 'newtonSchulz', 'x', /dispos/i],
  ['newtonSchulz: disposed bf16 x', () => ops.newtonSchulz(disposed([4, 8], 'bf16')), 'newtonSchulz', 'x', /dispos/i],
  ['newtonSchulz: x rank 1', () => ops.newtonSchulz(v4), 'newtonSchulz', 'x'],
  ['newtonSchulz: x rank 4', () => ops.newtonSchulz(mk([2, 2, 4, 8])), 'newtonSchulz', 'x'],
);

// ---------------------------------------------------------------------------------------------
// toFloat32Array, setNumThreads
// ---------------------------------------------------------------------------------------------
rows.push(
  ['toFloat32Array: disposed f32 tensor', () => disposed([2, 2]).toFloat32Array(), 'toFloat32Array', undefined, /dispos/i],
  ['toFloat32Array: disposed bf16 tensor', () => disposed([2, 2], 'bf16').toFloat32Array(), 'toFloat32Array', undefined, /dispos/i],
);
for (const [what, v] of [
  ['-1', -1],
  ['1.5', 1.5],
  ['NaN', NaN],
  ['a string', 'two'],
  ['an object', {}],
  ['an array', [2]],
] as [string, unknown][]) {
  rows.push([`setNumThreads: ${what}`, () => setNumThreads(any(v)), 'setNumThreads', undefined]);
}

// ---------------------------------------------------------------------------------------------

test('every row of the bad-call table throws the documented invalid-argument error', (t) => {
  const threadsBefore = info().threads;
  try {
    for (const [description, thunk, op, argument, message] of rows) {
      assertInvalidArg(t, thunk, op, argument, message, description);
    }
  } finally {
    setNumThreads(threadsBefore);
  }
  // the thread pool is process-wide and other test files run concurrently: only a sanity check
  const now = info().threads;
  t.true(Number.isInteger(now) && now >= 1 && now <= 1024, `info().threads = ${now}`);
});

// one ava test per op as well, so a failure report points at the op
for (const op of ['tensor', 'matmul', 'groupedMatmul', 'groupedWeightGrad', 'newtonSchulz', 'toFloat32Array', 'setNumThreads']) {
  test(`bad calls to ${op}`, (t) => {
    const mine = rows.filter((r) => r[2] === op);
    t.true(mine.length > 0);
    const threadsBefore = info().threads;
    try {
      for (const [description, thunk, o, argument, message] of mine) assertInvalidArg(t, thunk, o, argument, message, description);
    } finally {
      setNumThreads(threadsBefore);
    }
  });
}

test('errors are plain Errors with a stable shape', (t) => {
  const e = t.throws(() => ops.matmul(a34, any(null)));
  t.true(e instanceof Error);
  t.is((e as any).code, 'ERR_MOONTRAIN_INVALID_ARGUMENT');
  t.is((e as any).op, 'matmul');
  t.is((e as any).argument, 'b');
  t.is(typeof e!.stack, 'string');
});

test('valid calls next to the invalid ones still work (nothing is left in a bad state)', (t) => {
  for (const [, thunk] of rows) {
    try {
      thunk();
    } catch {
      // expected
    }
  }
  const out = ops.matmul(a34, b45);
  t.deepEqual(out.shape, [3, 5]);
  const ns = ops.newtonSchulz(m48);
  t.true(Array.from(ns.toFloat32Array()).every((v) => Number.isFinite(v)));
  t.notThrows(() => ops.groupedMatmul(x10x4, w346, [3, 3, 4]));
  t.notThrows(() => ops.groupedMatmul(x10x4, w364, [3, 3, 4], { transB: true }));
  t.notThrows(() => ops.groupedWeightGrad(x10x4, dy10x6, [3, 3, 4]));
});
