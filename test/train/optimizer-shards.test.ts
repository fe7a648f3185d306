// ZeRO-1 optimizer shards in real files: the state of N ranks' flat layouts written one file per
// rank, read back by M ranks' layouts (and whole, for one process), value for value, reading only
// the blocks each rank needs; damaged or mismatched files are named.
import test from 'ava';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { tensor } from '../../lib';
import { ops } from '../../lib/ops';
import { FlatLayout } from '../../lib/parallel/flat-layout';
import {
  _setCheckBlockBytesForTests, OptimizerShardReader, SHARD_INDEX, shardFileName, writeOptimizerShard, writeShardIndex,
} from '../../lib/train/optimizer-shards';
import { makeParams } from '../helpers/zero-params';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-shards-'));
test.after.always(() => fs.rmSync(tmp, { recursive: true, force: true }));

// 16-value blocks: reads start and end inside blocks and span several.
const BLOCK = 64;

/** The value a field holds at flat position g (distinct per field, never zero). */
function value(field: string, g: number): number {
  return Math.fround(Math.sin(1 + g * 0.37 + field.length * 1.3) + 2 * field.charCodeAt(field.length - 1));
}

/** Writes the state of `world` ranks (each field set to value(field, g)) into a fresh folder. */
function writeRun(name: string, kind: 'muon' | 'adamw', dtype: 'f32' | 'bf16', world: number): string {
  const dir = path.join(tmp, name);
  fs.mkdirSync(dir);
  const prev = _setCheckBlockBytesForTests(BLOCK);
  try {
    for (let r = 0; r < world; ++r) {
      const params = makeParams(dtype);
      const layout = new FlatLayout(params, kind, r, world);
      for (const p of layout.pieces) {
        const fill = (t: ReturnType<typeof tensor>, field: string) => {
          const src = tensor(Float32Array.from({ length: p.length }, (_, i) => value(field, p.offset + p.start + i)), [p.length]);
          ops.assign(t, src);
          src.dispose();
        };
        fill(p.master, 'master');
        for (const [k, t] of Object.entries(p.buffers)) fill(t, k);
      }
      const shard = layout.shard(r, 7);
      writeOptimizerShard(dir, shard);
      if (r === 0) writeShardIndex(dir, shard);
      layout.dispose();
      for (const p of params) p.value.dispose();
    }
  } finally {
    _setCheckBlockBytesForTests(prev);
  }
  return dir;
}

for (const [kind, dtype] of [['muon', 'bf16'], ['adamw', 'f32'], ['muon', 'f32']] as const) {
  test(`${kind} ${dtype}: 4 ranks' shards load on 1, 2, 3, 4 and 5 ranks, reading only their blocks`, (t) => {
    const dir = writeRun(`${kind}-${dtype}`, kind, dtype, 4);
    const index = JSON.parse(fs.readFileSync(path.join(dir, SHARD_INDEX), 'utf8'));
    t.is(index.world_size, 4);
    t.is(index.step, 7);
    t.deepEqual(index.ranks.map((r: { file: string }) => r.file), [0, 1, 2, 3].map((r) => shardFileName(r, 4)));
    // fp32 models keep no separate master weights: they are the weights.
    t.is(index.params[0].fields.includes('master'), dtype === 'bf16');
    for (const world of [1, 2, 3, 4, 5]) {
      for (let r = 0; r < world; ++r) {
        const params = makeParams(dtype);
        const layout = new FlatLayout(params, kind, r, world);
        const reader = new OptimizerShardReader(dir);
        try {
          layout.loadShards(reader);
          let wanted = 0, blocks = 0, bad = 0;
          for (const p of layout.pieces) {
            const fields = [...(dtype === 'bf16' ? ['master'] : []), ...Object.keys(p.buffers)];
            for (const field of fields) {
              const got = (field === 'master' ? p.master : p.buffers[field]).toFloat32Array();
              got.forEach((v, i) => (bad += v === value(field, p.offset + p.start + i) ? 0 : 1));
              wanted += 4 * p.length;
              // The whole blocks of each saved rank's tensor that hold the values asked for.
              for (const q of index.ranks) {
                const lo = Math.max(q.begin, p.offset), hi = Math.min(q.end, p.offset + p.param.value.shape.reduce((a, b) => a * b, 1));
                const a = Math.max(lo, p.offset + p.start), b = Math.min(hi, p.offset + p.start + p.length);
                if (a < b) blocks += Math.min(4 * (hi - lo), Math.ceil((4 * (b - lo)) / BLOCK) * BLOCK) - Math.floor((4 * (a - lo)) / BLOCK) * BLOCK;
              }
            }
            // Without saved master weights, they are the parameter's values.
            if (dtype === 'f32') {
              const w = p.param.value.toFloat32Array().subarray(p.start, p.start + p.length);
              t.deepEqual(p.master.toFloat32Array(), w);
            }
          }
          t.is(bad, 0, `${world} ranks, rank ${r}: values differ`);
          t.is(reader.bytesRead, blocks, `${world} ranks, rank ${r}: read ${reader.bytesRead} bytes for ${wanted}`);
          if (world === 4) t.is(reader.bytesRead, wanted, 'the same layout reads exactly its own bytes');
        } finally {
          reader.close();
          layout.dispose();
          for (const p of params) p.value.dispose();
        }
      }
    }
    // One process without ZeRO: the whole state in the single-process format.
    const reader = new OptimizerShardReader(dir);
    const d = reader.stateDict();
    reader.close();
    t.is(d.step, 7);
    let offset = 0;
    for (const p of makeParams(dtype)) {
      const n = p.value.shape.reduce((a, b) => a * b, 1);
      const entry = d.params[p.name];
      const fields = Object.keys(entry.buffers);
      t.deepEqual(fields, kind === 'muon' && (p.kind === 'matrix' || p.kind === 'experts') ? ['momentum_buffer'] : ['exp_avg', 'exp_avg_sq'], p.name);
      for (const f of fields) t.deepEqual(entry.buffers[f], Float32Array.from({ length: n }, (_, i) => value(f, offset + i)));
      if (dtype === 'bf16') t.deepEqual(entry.master, Float32Array.from({ length: n }, (_, i) => value('master', offset + i)));
      else t.is(entry.master, undefined);
      offset += n;
      p.value.dispose();
    }
  });
}

test('a damaged block is named; reads that do not touch it still succeed', (t) => {
  const dir = writeRun('damaged', 'adamw', 'f32', 2);
  const file = path.join(dir, shardFileName(1, 2));
  const b = fs.readFileSync(file);
  const dataStart = 8 + Number(b.readBigUInt64LE(0));
  const header = JSON.parse(b.subarray(8, dataStart).toString('utf8'));
  // The first tensor of rank 1: damage a byte in its second block.
  const [name, entry] = Object.entries(header).find(([k]) => k !== '__metadata__') as [string, { data_offsets: number[] }];
  t.true(entry.data_offsets[1] - entry.data_offsets[0] > 2 * BLOCK, 'the tensor spans several blocks');
  b[dataStart + entry.data_offsets[0] + BLOCK + 5] ^= 0x40;
  fs.writeFileSync(file, b);
  const [param, field] = [name.slice(0, name.lastIndexOf(':')), name.slice(name.lastIndexOf(':') + 1)];
  const index = JSON.parse(fs.readFileSync(path.join(dir, SHARD_INDEX), 'utf8'));
  const p = index.params.find((x: { name: string }) => x.name === param);
  const lo = Math.max(index.ranks[1].begin, p.offset) - p.offset;
  const reader = new OptimizerShardReader(dir);
  try {
    t.throws(() => reader.read(param, field, lo, p.numel), { code: 'ERR_MOONTRAIN_BAD_CHECKPOINT', message: new RegExp(`optimizer-rank-1-of-2\\.safetensors: tensor '${name.replace(/\./g, '\\.')}': checksum mismatch in block 1`) });
    // Its first block alone is intact.
    t.is(reader.read(param, field, lo, lo + BLOCK / 4).length, BLOCK / 4);
  } finally {
    reader.close();
  }
});

test('mismatched checkpoints fail with what was expected and what came', (t) => {
  const dir = writeRun('mismatch', 'muon', 'f32', 3);
  const params = makeParams('f32');
  const adamw = new FlatLayout(params, 'adamw', 0, 2);
  const reader = new OptimizerShardReader(dir);
  t.throws(() => adamw.loadShards(reader), { message: /the checkpoint holds muon's state, this run uses adamw/ });
  t.throws(() => reader.read('nope', 'exp_avg', 0, 1), { message: /no parameter 'nope'/ });
  t.throws(() => reader.read('model.layers.0.mlp.down_proj.weight', 'exp_avg', 0, 1), { message: /no 'exp_avg' for 'model\.layers\.0\.mlp\.down_proj\.weight' \(it has momentum_buffer\)/ });
  reader.close();
  adamw.dispose();
  for (const p of params) p.value.dispose();
  // A shard left from another save (another world size) beside the index.
  fs.copyFileSync(path.join(writeRun('other', 'muon', 'f32', 2), shardFileName(1, 2)), path.join(dir, shardFileName(1, 3)));
  const r2 = new OptimizerShardReader(dir);
  t.throws(() => r2.stateDict(), { code: 'ERR_MOONTRAIN_BAD_CHECKPOINT', message: /written as rank 1 of 2 at step 7, but the index expects rank 1 of 3/ });
  r2.close();
  const index = JSON.parse(fs.readFileSync(path.join(dir, SHARD_INDEX), 'utf8'));
  fs.writeFileSync(path.join(dir, SHARD_INDEX), JSON.stringify({ ...index, ranks: index.ranks.slice(1) }));
  t.throws(() => new OptimizerShardReader(dir), { message: /expected world_size ranks, got world_size 3 and 2 ranks/ });
});

test('one process reading the files of many ranks keeps a bounded number of them open', (t) => {
  const dir = writeRun('many', 'adamw', 'f32', 70);
  const openHere = () => fs.readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return fs.readlinkSync(`/proc/self/fd/${fd}`).startsWith(dir);
    } catch {
      return false;
    }
  }).length;
  const reader = new OptimizerShardReader(dir);
  const d = reader.stateDict();
  t.true(openHere() <= 64, `${openHere()} files open`);
  reader.close();
  t.is(openHere(), 0);
  let offset = 0;
  for (const p of makeParams('f32')) {
    const n = p.value.shape.reduce((a, b) => a * b, 1);
    t.deepEqual(d.params[p.name].buffers.exp_avg_sq, Float32Array.from({ length: n }, (_, i) => value('exp_avg_sq', offset + i)));
    offset += n;
    p.value.dispose();
  }
});
