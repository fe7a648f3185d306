#!/usr/bin/env node
// The CUDA compile gates (run by the CMake build when nvcc is found, target cuda_gates):
//   - every kernel source compiles for sm_80 and sm_90 code plus compute_90 PTX, with ptxas
//     spills and local memory as errors (-Xptxas -warn-spills,-warn-lmem-usage,-Werror);
//   - each kernel's registers, shared memory, barriers and stack go to BUILD_DIR/cuda-report.txt;
//   - the PTX of the GEMMs (dense, grouped, batched) contains mma.sync, ldmatrix and cp.async, and no .local.
// usage: cuda-gates.js NVCC BUILD_DIR [HOST_CXX]
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.join(__dirname, '..', '..');
const [nvcc = 'nvcc', buildDir = path.join(root, 'build'), cxx = 'c++'] = process.argv.slice(2);
const work = path.join(buildDir, 'cuda-gates');
fs.mkdirSync(work, { recursive: true });

// Every .cu under native/cuda (the kernels' __global__ entries, the probe program, host-only files).
const walk = (dir) => fs.readdirSync(path.join(root, dir), { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : e.name.endsWith('.cu') ? [path.join(dir, e.name)] : []));
const SOURCES = walk(path.join('native', 'cuda')).sort();
const ARCHS = ['-gencode', 'arch=compute_80,code=sm_80', '-gencode', 'arch=compute_90,code=sm_90', '-gencode', 'arch=compute_90,code=compute_90'];
const PTXAS = ['-Xptxas', '-v,-warn-spills,-warn-lmem-usage,-Werror'];

function run(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: root, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.error) throw new Error(`cuda-gates: cannot run ${cmd}: ${r.error.message}`);
  return r;
}
function fail(msg) {
  console.error(`cuda-gates: ${msg}`);
  process.exit(1);
}

// Short kernel names (an enum template argument "(mt::kern::MapOp)0" as its value): "mt::cuda::(anonymous namespace)::gemm_bf16_kernel<true, false, true>(...)" -> "gemm_bf16_kernel<true,false,true>".
function demangle(names) {
  const r = spawnSync('c++filt', [], { input: names.join('\n'), encoding: 'utf8' });
  const out = r.status === 0 ? r.stdout.trim().split('\n') : names;
  return out.map((n) => {
    const s = n.replace(/\(anonymous namespace\)::/g, '').replace(/\([\w:]+\)(\d+)/g, '$1').replace(/^void /, '').replace(/\(.*$/, '').replace(/, /g, ',');
    const lt = s.indexOf('<');
    const head = lt < 0 ? s : s.slice(0, lt);
    const q = head.lastIndexOf('::');
    return head.slice(q < 0 ? 0 : q + 2) + (lt < 0 ? '' : s.slice(lt));
  });
}

const rows = [];
for (const src of SOURCES) {
  const r = run(nvcc, ['-std=c++17', '-O3', '-c', src, '-o', path.join(work, path.basename(src) + '.o'), ...ARCHS, ...PTXAS]);
  const log = r.stdout + r.stderr;
  if (r.status !== 0) fail(`${src} failed to build (spills and local memory are errors):\n${log}`);
  let cur = null;
  for (const line of log.split('\n')) {
    let m = line.match(/Compiling entry function '([^']+)' for '(sm_\d+a?)'/);
    if (m) {
      cur = { src, mangled: m[1], arch: m[2], regs: 0, smem: 0, barriers: 0, stack: 0, spills: 0 };
      rows.push(cur);
      continue;
    }
    if (!cur) continue;
    m = line.match(/(\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads/);
    if (m) [cur.stack, cur.spills] = [Number(m[1]), Number(m[2]) + Number(m[3])];
    m = line.match(/Used (\d+) registers/);
    if (m) cur.regs = Number(m[1]);
    m = line.match(/used (\d+) barriers/);
    if (m) cur.barriers = Number(m[1]);
    m = line.match(/(\d+) bytes smem/);
    if (m) cur.smem = Number(m[1]);
  }
}
if (rows.length === 0) fail('ptxas reported no kernels');
const names = demangle(rows.map((r) => r.mangled));
rows.forEach((r, i) => (r.name = names[i]));
const bad = rows.filter((r) => r.stack > 0 || r.spills > 0);
if (bad.length) fail(`local memory or spills in ${bad.map((r) => `${r.name} (${r.arch})`).join(', ')}`);

// Launch shapes from the kernels' tile constants.
const sizesExe = path.join(work, 'kernel-sizes');
const c = run(cxx, ['-std=c++17', '-O0', '-o', sizesExe, path.join('scripts', 'ci', 'cuda-kernel-sizes.cc')]);
if (c.status !== 0) fail(`cuda-kernel-sizes.cc: ${c.stderr}`);
const shapes = new Map(run(sizesExe, []).stdout.trim().split('\n').map((l) => { const [n, t, s] = l.split(' '); return [n, { threads: t, dyn: s }]; }));

// The GEMMs' PTX: every bf16 entry has mma.sync from ldmatrix'd fragments, every aligned one
// cp.async, no entry .local. Per file: which entries are bf16 and aligned (from their mangled
// template arguments: t = bf16 elements, the Aligned flag), and how many there must be.
const GEMM_PTX = [
  { src: 'native/cuda/gemm.cu', bf16: /gemm_bf16_kernel/, aligned: /gemm_bf16_kernelILb[01]ELb[01]ELb1E/, entries: 8, alignedEntries: 4 },
  {
    src: 'native/cuda/gemm_grouped.cu',
    bf16: /grouped_(matmul|weight_grad)_kernelIt/,
    aligned: /grouped_matmul_kernelItLb[01]ELb1E|grouped_weight_grad_kernelItLb1E/,
    entries: 6,
    alignedEntries: 3,
  },
  { src: 'native/cuda/gemm_batched.cu', bf16: /batched_gemm_kernelIt/, aligned: /batched_gemm_kernelItLb[01]ELb1E/, entries: 4, alignedEntries: 2 },
];
const ptxSummaries = [];
for (const g of GEMM_PTX) {
  const ptxFile = path.join(work, path.basename(g.src, '.cu') + '.ptx');
  const p = run(nvcc, ['-std=c++17', '-O3', '-ptx', '-arch=compute_90', g.src, '-o', ptxFile]);
  if (p.status !== 0) fail(`PTX of ${g.src}: ${p.stderr}`);
  const ptx = fs.readFileSync(ptxFile, 'utf8');
  const count = (re) => (ptx.match(re) || []).length;
  const counts = {
    'mma.sync.m16n8k16.bf16': count(/mma\.sync\.aligned\.m16n8k16\.row\.col\.f32\.bf16\.bf16\.f32/g),
    ldmatrix: count(/ldmatrix\.sync\.aligned/g),
    'cp.async': count(/cp\.async\.cg\.shared\.global/g),
    '.local': count(/\.local/g),
  };
  const entries = ptx.split(/\.visible \.entry |\.entry /).slice(1);
  const bf16Entries = entries.filter((e) => g.bf16.test(e.slice(0, 200)));
  const alignedEntries = bf16Entries.filter((e) => g.aligned.test(e.slice(0, 200)));
  const problems = [];
  if (bf16Entries.length !== g.entries) problems.push(`expected ${g.entries} bf16 GEMM entries in the PTX, found ${bf16Entries.length}`);
  if (bf16Entries.some((e) => !/mma\.sync\.aligned\.m16n8k16/.test(e) || !/ldmatrix\.sync\.aligned/.test(e))) problems.push('a bf16 GEMM entry without mma.sync or ldmatrix');
  if (alignedEntries.length !== g.alignedEntries || alignedEntries.some((e) => !/cp\.async\.cg\.shared\.global/.test(e) || !/cp\.async\.wait_group/.test(e)))
    problems.push('an aligned bf16 GEMM entry without cp.async / cp.async.wait_group');
  if (counts['.local'] > 0) problems.push(`${counts['.local']} .local in the PTX`);
  if (problems.length) fail(`PTX of ${g.src}: ${problems.join('; ')}`);
  ptxSummaries.push(`# PTX (compute_90) of ${g.src}: ${Object.entries(counts).map(([k, v]) => `${k} ${v}`).join(', ')}; all ${g.entries} bf16 entries have mma.sync and ldmatrix, the ${g.alignedEntries} aligned ones cp.async`);
}

const version = (run(nvcc, ['--version']).stdout.match(/release [\d.]+/) || ['?'])[0];
const pad = (s, n) => String(s).padEnd(n);
const lines = [
  `# moontrain CUDA build report: nvcc ${version}, ${ARCHS.filter((a) => a !== '-gencode').join(' ')}, ptxas -warn-spills -warn-lmem-usage -Werror`,
  `# registers and static shared memory from ptxas; dynamic shared memory and threads from the kernels' tile constants`,
  `${pad('kernel', 54)}${pad('arch', 7)}${pad('regs', 6)}${pad('threads', 9)}${pad('static smem', 13)}${pad('dynamic smem', 14)}${pad('barriers', 10)}stack/spills`,
];
for (const r of rows.sort((a, b) => a.name.localeCompare(b.name) || a.arch.localeCompare(b.arch))) {
  const byType = r.name.replace(/ /g, '_').replace(/[,>].*$/, '');  // "grouped_matmul_kernel<unsigned_short"
  const shape = shapes.get(byType) || shapes.get(r.name.replace(/<.*$/, '')) || { threads: '?', dyn: '?' };
  lines.push(`${pad(r.name, 54)}${pad(r.arch, 7)}${pad(r.regs, 6)}${pad(shape.threads, 9)}${pad(r.smem, 13)}${pad(shape.dyn, 14)}${pad(r.barriers, 10)}${r.stack}/${r.spills}`);
}
lines.push(...ptxSummaries);
fs.writeFileSync(path.join(buildDir, 'cuda-report.txt'), lines.join('\n') + '\n');
console.log(`cuda-gates: ${rows.length} kernel builds pass; report in ${path.join(buildDir, 'cuda-report.txt')}`);
