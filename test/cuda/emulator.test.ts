// The CUDA kernels on the CPU emulator (test/cuda/emu_tests.cc, built with g++ into
// build-cuda-emu/): the emulator's own checks, the GEMMs (dense, grouped, batched symmetric) and
// Newton–Schulz against float64, the SIMT kernels, the planted bugs that must be caught, and the
// probe fixtures recorded on a GPU (when present), and the reading of TMA box loads.
import test from 'ava';
import { spawnSync } from 'child_process';
import * as path from 'path';

const root = path.join(__dirname, '..', '..');
const buildDir = path.join(root, 'build-cuda-emu');
const exe = path.join(buildDir, 'cuda_emu_tests');

function run(cmd: string, args: string[]): { status: number | null; out: string } {
  const r = spawnSync(cmd, args, { cwd: root, encoding: 'utf8', timeout: 240_000 });
  return { status: r.status, out: (r.stdout ?? '') + (r.stderr ?? '') + (r.error ? String(r.error) : '') };
}

let built: { status: number | null; out: string } | undefined;
test.before(() => {
  const configure = run('cmake', ['-S', path.join(root, 'test', 'cuda'), '-B', buildDir, '-DCMAKE_BUILD_TYPE=Release']);
  built = configure.status === 0 ? run('cmake', ['--build', buildDir, '-j', '2']) : configure;
});

for (const group of ['emulator', 'gemm', 'planted', 'simt', 'moe', 'attention', 'grouped', 'newton-schulz', 'probes', 'tma']) {
  test(`cuda emulator: ${group}`, (t) => {
    t.is(built!.status, 0, `building the emulator tests failed:\n${built!.out}`);
    const r = run(exe, [group, path.join(root, 'test', 'fixtures', group === 'tma' ? 'cuda-probes-tma.json' : 'cuda-probes.json')]);
    const lines = r.out.split('\n').filter((l) => l.length > 0);
    for (const l of lines) if (group === 'planted' || !l.startsWith('ok - ')) t.log(l);
    t.log(`${lines.filter((l) => l.startsWith('ok - ')).length} checks passed`);
    t.deepEqual(lines.filter((l) => l.startsWith('not ok')), [], `failed checks of ${group}`);
    t.is(r.status, 0, r.out.slice(-2000));
  });
}
