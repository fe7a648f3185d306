// Batches: training batches are a pure function of (seed, step, row), targets are the ids shifted
// by one, rank slices concatenate to the global batch; evaluation windows tile a split in order
// without overlap.
import test from 'ava';
import { evalBatches, INVALID_ARGUMENT, TokenBatcher } from '../../lib/data';

/** Tokens whose value is their position (mod 2^31): a window's ids reveal where it starts. */
const ramp = (n: number): Int32Array => Int32Array.from({ length: n }, (_, i) => i);

test('same (seed, step) gives the same batch, from a fresh batcher too; steps and seeds differ', (t) => {
  const tokens = ramp(100_000);
  const opts = { batchSize: 8, seqLen: 64, seed: 1234 };
  const a = new TokenBatcher(tokens, opts);
  const b = new TokenBatcher(tokens, opts);
  const later = a.batch(7); // order of calls does not matter: there is no RNG state
  for (const step of [0, 1, 2, 1000, 2 ** 40 + 3]) {
    t.deepEqual(a.batch(step), b.batch(step), `step ${step}`);
  }
  t.deepEqual(b.batch(7), later);
  t.notDeepEqual(a.batch(0).ids, a.batch(1).ids);
  t.notDeepEqual(a.batch(1).ids, a.batch(2).ids);
  t.notDeepEqual(a.batch(0).ids, new TokenBatcher(tokens, { ...opts, seed: 1235 }).batch(0).ids);
  t.notDeepEqual(a.batch(2 ** 32).ids, a.batch(0).ids, 'the high half of the step counts');
});

test('rows are windows of seqLen + 1 tokens: targets are the ids shifted by one', (t) => {
  const N = 5000;
  const S = 33;
  const B = 16;
  const batcher = new TokenBatcher(ramp(N), { batchSize: B, seqLen: S, seed: 9 });
  const starts = new Set<number>();
  for (let step = 0; step < 200; step++) {
    const { ids, targets, rows } = batcher.batch(step);
    t.is(rows, B);
    t.is(ids.length, B * S);
    t.is(targets.length, B * S);
    for (let r = 0; r < B; r++) {
      const s0 = ids[r * S]!;
      t.is(s0, batcher.windowStart(step, r));
      starts.add(s0);
      t.true(s0 >= 0 && s0 + S + 1 <= N, `window in range: ${s0}`);
      for (let j = 0; j < S; j++) {
        if (ids[r * S + j] !== s0 + j || targets[r * S + j] !== s0 + j + 1) {
          t.fail(`step ${step} row ${r} col ${j}`);
          return;
        }
      }
    }
  }
  // 3200 draws from 4967 starts: spread over the range, both ends reachable in principle
  t.true(starts.size > 2000, `${starts.size} distinct starts`);
  const sorted = [...starts].sort((x, y) => x - y);
  t.true(sorted[0]! < 50 && sorted[sorted.length - 1]! > N - S - 50);
  // the smallest data set: exactly one window
  const one = new TokenBatcher(ramp(S + 1), { batchSize: 3, seqLen: S, seed: 0 });
  t.deepEqual(Array.from(one.batch(5).ids.subarray(0, 3)), [0, 1, 2]);
});

test('rank slices concatenate to the global batch (W = 1, 2, 4)', (t) => {
  const batcher = new TokenBatcher(ramp(50_000), { batchSize: 8, seqLen: 16, seed: 42 });
  for (const step of [0, 3, 99]) {
    const global = batcher.batch(step);
    for (const W of [1, 2, 4]) {
      const parts = Array.from({ length: W }, (_, r) => batcher.batch(step, r, W));
      for (const p of parts) t.is(p.rows, 8 / W);
      const cat = (k: 'ids' | 'targets'): number[] => parts.flatMap((p) => Array.from(p[k]));
      t.deepEqual(cat('ids'), Array.from(global.ids), `step ${step} W ${W} ids`);
      t.deepEqual(cat('targets'), Array.from(global.targets), `step ${step} W ${W} targets`);
    }
  }
});

test('bad arguments are Errors that name the argument', (t) => {
  const tokens = ramp(100);
  const batcher = new TokenBatcher(tokens, { batchSize: 6, seqLen: 8, seed: 0 });
  const cases: [() => unknown, string][] = [
    [() => batcher.batch(0, 0, 4), 'worldSize'],
    [() => batcher.batch(0, 3, 3), 'rank'],
    [() => batcher.batch(-1), 'step'],
    [() => batcher.batch(0.5), 'step'],
    [() => batcher.batch(0, 0, 0), 'worldSize'],
    [() => new TokenBatcher(tokens, { batchSize: 0, seqLen: 8, seed: 0 }), 'options.batchSize'],
    [() => new TokenBatcher(tokens, { batchSize: 2, seqLen: 100, seed: 0 }), 'tokens'],
    [() => new TokenBatcher(tokens, { batchSize: 2, seqLen: 8, seed: -1 }), 'options.seed'],
    [() => new TokenBatcher(tokens, { batchSize: 2, seqLen: 8, seed: 2 ** 32 }), 'options.seed'],
    [() => new TokenBatcher(Array.from(tokens) as unknown as Int32Array, { batchSize: 2, seqLen: 8, seed: 0 }), 'tokens'],
    [() => evalBatches(tokens, { batchSize: 2, seqLen: 100 }), 'tokens'],
    [() => evalBatches(tokens, { batchSize: 2, seqLen: 8 }).batch(99), 'i'],
  ];
  for (const [fn, argument] of cases) {
    const e = t.throws(fn) as Error & { code: string; argument: string };
    t.is(e.code, INVALID_ARGUMENT, e.message);
    t.is(e.argument, argument, e.message);
  }
  t.regex((t.throws(() => batcher.batch(0, 0, 4)) as Error).message, /^TokenBatcher\.batch: argument 'worldSize': expected a divisor of batchSize 6, got 4$/);
});

test('eval windows tile the split in order, without overlap, every target once', (t) => {
  for (const [N, B, S] of [[1000, 4, 10], [1001, 4, 10], [1009, 3, 7], [8, 5, 7], [50_000, 16, 128]] as const) {
    const ev = evalBatches(ramp(N), { batchSize: B, seqLen: S });
    const windows = Math.floor((N - 1) / S);
    t.is(ev.windows, windows);
    t.is(ev.count, Math.ceil(windows / B));
    t.is(ev.predictedTokens, windows * S);
    t.is(ev.droppedTokens, N - 1 - windows * S);
    const ids: number[] = [];
    const targets: number[] = [];
    let k = 0;
    for (const b of ev) {
      t.is(b.rows, k < ev.count - 1 ? B : windows - B * (ev.count - 1));
      t.is(b.ids.length, b.rows * S);
      ids.push(...b.ids);
      targets.push(...b.targets);
      k++;
    }
    t.is(k, ev.count);
    t.deepEqual(ids, Array.from({ length: windows * S }, (_, i) => i), `N ${N}: inputs tile [0, windows*S) in order`);
    t.deepEqual(targets, Array.from({ length: windows * S }, (_, i) => i + 1), `N ${N}: each target once`);
    t.deepEqual(ev.slice(), [...ev]);
    t.deepEqual(ev.slice(1, 2), ev.count > 1 ? [ev.batch(1)] : []);
    t.is(ev.slice(0, 1000).length, ev.count);
    t.deepEqual(ev.slice(-1), [ev.batch(ev.count - 1)]);
  }
});
