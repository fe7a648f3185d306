// ZeRO-1 with Distributed Muon: one step on hand-made parameters against the single-process
// optimizer, and whole training runs that give the same losses for 1, 2, 3 and 4 ranks.
import test from 'ava';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { optim, tensor } from '../../lib';
import { launch } from '../../lib/parallel/launch';
import { writeMicroRun } from '../helpers/micro-run';
import { makeParams } from '../helpers/zero-params';
import { numel } from '../../lib/shape';

const root = path.join(__dirname, '..', '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-zero-'));

/** The global norm of the mean gradient of each step, in float64 (ZeRO averages over the ranks). */
function meanGradNorms(world: number): number[] {
  const params = makeParams('f32');
  const norms = [0, 1].map((step) => {
    let s = 0;
    params.forEach((p, i) => {
      const n = p.value.shape.reduce((a, b) => a * b, 1);
      for (let k = 0; k < n; ++k) s += ((Math.sin(1 + k * 0.37 + i + step) * (world + 1)) / 2) ** 2;
    });
    return Math.sqrt(s);
  });
  for (const p of params) p.value.dispose();
  return norms;
}

function singleProcess(kind: string, world: number, dtype: 'f32' | 'bf16' = 'f32'): Float32Array[] {
  const params = makeParams(dtype);
  const opt = kind === 'adamw' ? new optim.AdamW(params, { lr: 0.01 }) : new optim.Muon(params, { lr: 0.02, weightDecay: 0.1 });
  for (let step = 0; step < 2; ++step) {
    params.forEach((p, i) => {
      const n = numel(p.value.shape);
      // The mean over ranks of the workers' gradients: sin(...) · (r + 1), r < world.
      const g = Float32Array.from({ length: n }, (_, k) => (Math.sin(1 + k * 0.37 + i + step) * (world + 1)) / 2);
      p.grad = tensor(g, p.value.shape);
    });
    opt.step();
    opt.zeroGrad();
  }
  return params.map((p) => p.value.toFloat32Array());
}

for (const kind of ['muon', 'adamw']) {
  for (const world of [2, 3, 4]) {
    test(`one Distributed-${kind} step on ${world} ranks equals the single-process optimizer`, async (t) => {
      const out = path.join(tmp, `${kind}-${world}.json`);
      const code = await launch({ nproc: world, argv: ['--import=tsx', path.join(root, 'test', 'helpers', 'zero-worker.ts'), out, kind] });
      t.is(code, 0);
      const got = JSON.parse(fs.readFileSync(out, 'utf8'));
      if (kind === 'muon') t.true(got.cut > 0, 'rank boundaries cut some matrices');
      const want = singleProcess(kind, world);
      // Muon and AdamW hardly see a constant gradient scale: the norm shows a sum instead of a mean.
      meanGradNorms(world).forEach((norm, step) => t.true(Math.abs(got.gradNorms[step] - norm) < 1e-5 * norm, `step ${step}: gradient norm ${got.gradNorms[step]}, want ${norm}`));
      got.params.forEach(([name, values]: [string, number[]], i: number) => {
        const err = Math.max(...values.map((v, k) => Math.abs(v - want[i][k])));
        t.true(err < 2e-6, `${name}: max |Δ| ${err}`);
      });
    });
  }
}

test('one Distributed-Muon step in bf16 (matrices gathered and orthogonalised in bf16) on 4 ranks equals the single-process optimizer', async (t) => {
  const out = path.join(tmp, 'muon-bf16.json');
  const code = await launch({ nproc: 4, argv: ['--import=tsx', path.join(root, 'test', 'helpers', 'zero-worker.ts'), out, 'muon', 'bf16'] });
  t.is(code, 0);
  const got = JSON.parse(fs.readFileSync(out, 'utf8'));
  const want = singleProcess('muon', 4, 'bf16');
  got.params.forEach(([name, values]: [string, number[]], i: number) => {
    // The mean gradient is summed in another order, which can move a bf16 rounding by one place.
    const bad = values.filter((v, k) => Math.abs(v - want[i][k]) > 2 ** -7 * Math.abs(want[i][k]) + 1e-6).length;
    t.is(bad, 0, `${name}: ${bad} of ${values.length} values differ by more than a bf16 rounding`);
  });
});

const { config, data } = writeMicroRun(tmp);

function run(nproc: number, optimizer: string, steps: number, out: string, extra: string[] = []) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(root, 'lib', 'cli.ts'), 'train', '--config', config, '--data', data,
    '--batch-size', '12', '--seq-len', '16', '--steps', String(steps), '--eval-every', '10', '--eval-batches', '4', '--precision', 'f32',
    '--lr', '0.01', '--warmup', '2', '--optimizer', optimizer, '--nproc', String(nproc), '--out', out, ...extra], { cwd: root, encoding: 'utf8' });
  return { ...r, losses: r.status === 0 ? fs.readFileSync(path.join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).loss as number) : [] };
}

function weights(dir: string): Float32Array {
  const b = fs.readFileSync(path.join(dir, 'checkpoint', 'model.safetensors'));
  const start = 8 + Number(b.readBigUInt64LE(0));
  return new Float32Array(b.buffer.slice(b.byteOffset + start, b.byteOffset + b.length));
}

for (const optimizer of ['muon', 'adamw']) {
  test(`${optimizer}: --nproc 1, 2, 3, 4 give the same loss at every step and the same weights (f32, 20 steps)`, (t) => {
    const runs = [1, 2, 3, 4].map((n) => ({ n, ...run(n, optimizer, 20, path.join(tmp, `${optimizer}-n${n}`)) }));
    for (const r of runs) t.is(r.status, 0, r.stderr);
    const base = runs[0].losses;
    t.is(base.length, 20);
    const w1 = weights(path.join(tmp, `${optimizer}-n1`));
    for (const r of runs.slice(1)) {
      const worst = Math.max(...r.losses.map((l, i) => Math.abs(l - base[i]) / base[i]));
      t.true(worst <= 1e-5, `nproc ${r.n}: worst relative loss difference ${worst}`);
      const wn = weights(path.join(tmp, `${optimizer}-n${r.n}`));
      const werr = Math.max(...Array.from(w1, (v, i) => Math.abs(v - wn[i])));
      t.true(werr < 1e-4, `nproc ${r.n}: final weights differ by ${werr}`);
    }
  });
}

test('a checkpoint written by 3 ranks resumes on 2 ranks on the same loss curve', (t) => {
  const full = run(1, 'muon', 12, path.join(tmp, 'resume-full'));
  const part = run(3, 'muon', 12, path.join(tmp, 'resume-part'), ['--stop-after', '6']);
  t.is(part.status, 0, part.stderr);
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(root, 'lib', 'cli.ts'), 'train', '--resume', path.join(tmp, 'resume-part'), '--nproc', '2'], { cwd: root, encoding: 'utf8' });
  t.is(r.status, 0, r.stderr);
  const resumed = fs.readFileSync(path.join(tmp, 'resume-part', 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).loss as number);
  const worst = Math.max(...resumed.map((l, i) => Math.abs(l - full.losses[i]) / full.losses[i]));
  t.is(resumed.length, 12);
  t.true(worst <= 1e-5, `worst relative difference ${worst}`);
});
