// In-process checks of the dist API: init() from the environment, a size-1 communicator (local
// copies), argument validation, stale-segment cleanup, launch() arguments.
import test from 'ava';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { tensor } from '../../lib';
import { Communicator, cleanupStale, init, segmentPath } from '../../lib/parallel/comm';
import { launch, newJobName } from '../../lib/parallel/launch';

const INVALID = 'ERR_MOONTRAIN_INVALID_ARGUMENT';

test('init() without WORLD_SIZE is a size-1 communicator', (t) => {
  const c = init({ env: {} });
  t.is(c.rank, 0);
  t.is(c.size, 1);
  t.false(c.closed);
  const x = tensor([1, 2, 3], [3]);
  t.deepEqual(Array.from(c.allGather(x).toFloat32Array()), [1, 2, 3]);
  t.deepEqual(Array.from(c.reduceScatter(x).toFloat32Array()), [1, 2, 3]);
  t.deepEqual(Array.from(c.allGatherV(x, [3]).toFloat32Array()), [1, 2, 3]);
  t.deepEqual(Array.from(c.reduceScatterV(x, [3]).toFloat32Array()), [1, 2, 3]);
  t.is(c.allReduce(x), x);
  t.is(c.broadcast(x, 0), x);
  t.deepEqual(Array.from(x.toFloat32Array()), [1, 2, 3]);
  c.barrier();
  t.deepEqual(Array.from(c.allReduceNumbers(new Float64Array([1.5, -2]), 'max')), [1.5, -2]);
  t.deepEqual(c.bytes(), { allGather: 0, reduceScatter: 0, allReduce: 0, broadcast: 0 });
  t.false(fs.existsSync(segmentPath(c.jobName)), 'the segment name is unlinked once everyone attached');
  c.close();
  c.close();
  t.true(c.closed);
  const e = t.throws(() => c.barrier()) as Error & { code: string };
  t.is(e.code, 'ERR_MOONTRAIN_COMM_CLOSED');
});

test('init() reads the torchrun-style environment', (t) => {
  t.throws(() => init({ env: { WORLD_SIZE: '2' } }), { message: /neither RANK nor LOCAL_RANK/ });
  t.throws(() => init({ env: { WORLD_SIZE: '2', RANK: '0' } }), { message: /MOONTRAIN_JOB is not set/ });
  t.throws(() => init({ env: { WORLD_SIZE: 'two', RANK: '0', MOONTRAIN_JOB: 'x' } }), { message: /WORLD_SIZE: expected an integer/ });
  t.throws(() => init({ env: { WORLD_SIZE: '2', RANK: '2', MOONTRAIN_JOB: 'x' } }), { message: /RANK: expected an integer in \[0, 1\]/ });
  t.throws(() => init({ env: { WORLD_SIZE: '2', RANK: '1', LOCAL_RANK: '0', MOONTRAIN_JOB: 'x' } }), { message: /one host only/ });
  // A rank that never finds rank 0 gives up after connectTimeout.
  const job = newJobName();
  const e = t.throws(() => init({ env: { WORLD_SIZE: '2', LOCAL_RANK: '1', MASTER_PORT: '29500', MOONTRAIN_JOB: job }, connectTimeout: 0.3 })) as Error & {
    code: string;
  };
  t.is(e.code, 'ERR_MOONTRAIN_COMM_TIMEOUT');
  t.regex(e.message, /timed out after 0\.3 s waiting for rank 0 to create \/moontrain-job-/);
  // WORLD_SIZE=1 from the environment, job named by MASTER_PORT.
  const c = init({ env: { WORLD_SIZE: '1', RANK: '0', MASTER_PORT: String(40000 + (process.pid % 20000)) } });
  t.is(c.jobName, `port-${40000 + (process.pid % 20000)}`);
  c.close();
});

test('arguments are validated natively', (t) => {
  const c = new Communicator({ jobName: newJobName(), rank: 0, size: 1 });
  const x = tensor([1, 2, 3], [3]);
  const bad: [() => unknown, string, RegExp][] = [
    [() => c.allGather(x, tensor([1, 2], [2])), 'output', /allGather: argument 'output': expected a tensor of 3 elements/],
    [() => c.allGather(x, tensor([1, 2, 3], [3], { dtype: 'bf16' })), 'output', /expected dtype f32/],
    [() => c.allGatherV(x, [2]), 'input', /expected a tensor of 2 elements \(counts\[0\]\)/],
    [() => c.allGatherV(x, [3, 0]), 'counts', /expected a number\[\] or Int32Array of 1 non-negative integers/],
    [() => c.allGatherV(x, [1.5]), 'counts', /entry 0 1\.5/],
    [() => c.reduceScatterV(x, [4]), 'input', /expected a tensor of 4 elements \(the sum of counts\)/],
    [() => c.broadcast(x, 1), 'root', /expected an integer in \[0, 0\]/],
    [() => c.allReduce({} as never), 't', /expected a Tensor, got an object/],
    [() => c.allReduceNumbers([1] as never, 'sum'), 'values', /expected a Float64Array/],
    [() => c.allReduceNumbers(new Float64Array(1), 'avg' as never), 'op', /expected 'sum' or 'max'/],
  ];
  for (const [fn, argument, message] of bad) {
    const e = t.throws(fn) as Error & { code: string; argument: string };
    t.is(e.code, INVALID, e.message);
    t.is(e.argument, argument, e.message);
    t.regex(e.message, message);
  }
  t.throws(() => new Communicator({ jobName: 'a/b', rank: 0, size: 1 }), { code: INVALID, message: /jobName/ });
  t.throws(() => new Communicator({ jobName: 'x', rank: 1, size: 1 }), { code: INVALID, message: /rank/ });
  t.throws(() => new Communicator({ jobName: 'x', rank: 0, size: 65 }), { code: INVALID, message: /size/ });
  t.throws(() => new Communicator({ jobName: 'x', rank: 0, size: 1, slots: 1 }), { code: INVALID, message: /slots/ });
  const d = tensor([1], [1]);
  d.dispose();
  t.throws(() => c.allReduce(d), { code: INVALID, message: /a disposed tensor/ });
  c.close();
});

test('a leftover segment of a dead creator is cleaned up', (t) => {
  const job = newJobName();
  // A fake leftover: the right size and magic, a creator pid that does not exist.
  const c = new Communicator({ jobName: job, rank: 0, size: 1 });
  c.close();
  t.false(cleanupStale(job), 'nothing to clean');
  fs.writeFileSync(segmentPath(job), Buffer.alloc(16));
  fs.utimesSync(segmentPath(job), new Date(Date.now() - 60000), new Date(Date.now() - 60000));
  t.true(cleanupStale(job), 'an old uninitialised segment is stale');
  t.false(fs.existsSync(segmentPath(job)));
  // Rank 0 replaces a stale segment by itself.
  fs.writeFileSync(segmentPath(job), Buffer.alloc(16));
  fs.utimesSync(segmentPath(job), new Date(Date.now() - 60000), new Date(Date.now() - 60000));
  const again = new Communicator({ jobName: job, rank: 0, size: 1 });
  t.is(again.size, 1);
  again.close();
  t.false(fs.existsSync(segmentPath(job)));
});

test('launch() checks its arguments and runs a job', async (t) => {
  t.throws(() => launch({ nproc: 0, argv: [] }), { message: /nproc/ });
  t.throws(() => launch({ nproc: 1, argv: [1 as never] }), { message: /argv/ });
  t.throws(() => launch({ nproc: 1, argv: [], jobName: 'a b' }), { message: /jobName/ });
  t.is(await launch({ nproc: 2, argv: ['-e', 'const e = process.env; process.exit(e.WORLD_SIZE === "2" && e.LOCAL_RANK === e.RANK && e.MOONTRAIN_JOB ? 0 : 5)'] }), 0);
  t.is(await launch({ nproc: 2, argv: ['-e', 'process.exit(Number(process.env.RANK) === 1 ? 4 : 0)'] }), 4);
});

test('the cores are split over the ranks: by launch(), and by init() under another launcher', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-threads-'));
  const lib = JSON.stringify(path.join(__dirname, '..', '..', 'lib'));
  // Each rank records MOONTRAIN_NUM_THREADS and the native pool's size after init().
  const script = `const { parallel, info } = require(${lib}); const c = parallel.init(); require('fs').writeFileSync(${JSON.stringify(dir)} + '/' + c.rank + '.json', ` +
    `JSON.stringify({ env: process.env.MOONTRAIN_NUM_THREADS ?? null, threads: info().threads })); c.close();`;
  const want = Math.max(1, Math.floor(os.availableParallelism() / 2));
  const read = () => [0, 1].map((r) => JSON.parse(fs.readFileSync(path.join(dir, `${r}.json`), 'utf8')));
  t.is(await launch({ nproc: 2, argv: ['--import=tsx', '-e', script] }), 0);
  t.deepEqual(read(), [{ env: String(want), threads: want }, { env: String(want), threads: want }]);
  // A launcher that sets no thread count (an undefined value is left out of the environment).
  t.is(await launch({ nproc: 2, argv: ['--import=tsx', '-e', script], env: { MOONTRAIN_NUM_THREADS: undefined } }), 0);
  t.deepEqual(read(), [{ env: null, threads: want }, { env: null, threads: want }]);
  // An explicit setting wins.
  t.is(await launch({ nproc: 2, argv: ['--import=tsx', '-e', script], env: { MOONTRAIN_NUM_THREADS: '3' } }), 0);
  t.deepEqual(read(), [{ env: '3', threads: 3 }, { env: '3', threads: 3 }]);
  fs.rmSync(dir, { recursive: true, force: true });
});
