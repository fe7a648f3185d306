// ZeRO-1's optimizer state in a checkpoint: one safetensors file per rank holding that rank's
// slice of the flat layout (lib/parallel/flat-layout.ts), and optimizer.index.json recording the
// layout, so that the state loads on any number of ranks (one process included) and each reader
// reads only the bytes it needs.
//
//   optimizer.index.json                 format, step, optimizer, world_size, total, the per-rank
//                                        ranges [begin, end) of the flat layout and their files,
//                                        every parameter (name, shape, offset in the layout, fields)
//   optimizer-rank-<r>-of-<N>.safetensors  for each parameter rank r holds part of, the tensors
//                                        '<name>:<field>' (F32, [length]) of its part
//
// A field is 'master' (fp32 master weights, stored only when the model is not fp32: else they are
// the weights themselves), 'momentum_buffer' (Muon) or 'exp_avg' and 'exp_avg_sq' (AdamW). The
// part of a parameter in rank r's file is its overlap with [begin_r, end_r). Each file records the
// CRC-32 of every block (check_block_bytes: 1 MiB) of each tensor (__metadata__
// 'moontrain_crc32_blocks'), so that a reader checks what it reads without reading whole tensors.
import * as fs from 'fs';
import * as path from 'path';
import { crc32 } from 'zlib';
import type { Tensor } from '../../types/core';
import { withAtomicFile, writeAll, writeFileAtomic } from '../io/atomic';
import { openForRead, readExact } from '../io/safetensors-file';
import { readHeaderFd, type ParsedHeader } from '../io/safetensors-header';
import { encodeSafetensorsHeader } from '../io/safetensors-write';
import { numel } from '../shape';
import type { ParamStateDict } from '../optim/state';

export const SHARD_INDEX = 'optimizer.index.json';
const FORMAT = 'moontrain-zero1-optimizer';
const CRC_KEY = 'moontrain_crc32_blocks';
const MAX_OPEN = 64;
// Bytes per checked block of a tensor (the last block of a tensor may be shorter); the index
// records it. A test hook lowers it to exercise reads that start and end inside blocks.
let blockBytes = 1 << 20;

/** For tests: the block size of the checksums written from now on (a multiple of 4); returns the previous one. */
export function _setCheckBlockBytesForTests(n: number): number {
  const prev = blockBytes;
  blockBytes = n;
  return prev;
}

export interface ShardParam {
  name: string;
  shape: number[];
  /** Where the parameter starts in the flat layout. */
  offset: number;
  /** The fields stored for it. */
  fields: string[];
}

/** What one rank holds: its part [start, start + length) of some parameters. */
export interface ShardPiece {
  name: string;
  start: number;
  length: number;
  /** field -> f32 tensor of `length` values. */
  tensors: Record<string, Tensor>;
}

/** One rank's view of the state to save (ZeroOptimizer.shard()). */
export interface OptimizerShard {
  optimizer: 'muon' | 'adamw';
  step: number;
  rank: number;
  /** The flat layout's rank boundaries: rank r owns [bounds[r], bounds[r + 1]). */
  bounds: number[];
  params: ShardParam[];
  pieces: ShardPiece[];
}

export interface ShardIndex {
  format: typeof FORMAT;
  version: 1;
  step: number;
  optimizer: 'muon' | 'adamw';
  world_size: number;
  total: number;
  dtype: 'F32';
  check_block_bytes: number;
  ranks: { file: string; begin: number; end: number }[];
  params: (ShardParam & { numel: number })[];
}

export function shardFileName(rank: number, world: number): string {
  return `optimizer-rank-${rank}-of-${world}.safetensors`;
}

/** True when a checkpoint folder holds a sharded optimizer state. */
export function hasShardIndex(dir: string): boolean {
  return fs.existsSync(path.join(dir, SHARD_INDEX));
}

/**
 * Writes this rank's file into `dir` (atomically). Each tensor is copied out once, checksummed
 * and written, so the extra memory is about one tensor, not the rank's whole state.
 */
export function writeOptimizerShard(dir: string, shard: OptimizerShard): void {
  const world = shard.bounds.length - 1;
  const items = shard.pieces.flatMap((p) => Object.entries(p.tensors).map(([field, t]) => {
    if (t.dtype !== 'f32' || numel(t.shape) !== p.length) throw new Error(`writeOptimizerShard: ${p.name}:${field}: expected an f32 tensor of ${p.length} values`);
    return { name: `${p.name}:${field}`, dtype: 'F32' as const, shape: [p.length], bytes: 4 * p.length, t };
  }));
  // The checksums are fixed-width hex, so the header written first with placeholders keeps its
  // length when it is written again with the real ones.
  const sums: Record<string, string[]> = {};
  for (const it of items) sums[it.name] = Array.from({ length: Math.ceil(it.bytes / blockBytes) }, () => '00000000');
  const metadata = () => ({ step: String(shard.step), rank: String(shard.rank), world_size: String(world), [CRC_KEY]: JSON.stringify(sums) });
  const placeholder = encodeSafetensorsHeader(items, metadata());
  withAtomicFile(path.join(dir, shardFileName(shard.rank, world)), (fd) => {
    writeAll(fd, placeholder);
    for (const it of items) {
      const bytes = it.t.toBytes();
      sums[it.name] = sums[it.name].map((_, b) => hex(crc32(bytes.subarray(b * blockBytes, (b + 1) * blockBytes))));
      writeAll(fd, bytes);
    }
    const head = encodeSafetensorsHeader(items, metadata());
    if (head.length !== placeholder.length) throw new Error('writeOptimizerShard: the header changed length');
    fs.writeSync(fd, head, 0, head.length, 0);
  });
}

/** Writes optimizer.index.json into `dir` (any rank's shard describes the whole layout). */
export function writeShardIndex(dir: string, shard: OptimizerShard): void {
  const world = shard.bounds.length - 1;
  const index: ShardIndex = {
    format: FORMAT, version: 1, step: shard.step, optimizer: shard.optimizer, world_size: world,
    total: shard.bounds[world], dtype: 'F32', check_block_bytes: blockBytes,
    ranks: Array.from({ length: world }, (_, r) => ({ file: shardFileName(r, world), begin: shard.bounds[r], end: shard.bounds[r + 1] })),
    params: shard.params.map((p) => ({ ...p, numel: numel(p.shape) })),
  };
  writeFileAtomic(path.join(dir, SHARD_INDEX), JSON.stringify(index, null, 1));
}

function hex(n: number): string {
  return (n >>> 0).toString(16).padStart(8, '0');
}

function badShards(message: string): Error & { code: string } {
  return Object.assign(new Error(message), { code: 'ERR_MOONTRAIN_BAD_CHECKPOINT' });
}

interface OpenShard {
  fd: number;
  file: string;
  header: ParsedHeader;
  sums: Record<string, string[]>;
}

/**
 * The sharded optimizer state of a checkpoint folder, for reading parts of parameters: the files
 * are opened on first use, and read(name, field, from, to) reads the blocks that hold those values.
 */
export class OptimizerShardReader {
  readonly index: ShardIndex;
  /** Bytes read from the rank files so far (the headers not counted). */
  bytesRead = 0;
  private readonly params = new Map<string, ShardIndex['params'][number]>();
  private readonly open = new Map<number, OpenShard>();

  constructor(readonly dir: string) {
    const file = path.join(dir, SHARD_INDEX);
    let index: ShardIndex;
    try {
      index = JSON.parse(fs.readFileSync(file, 'utf8')) as ShardIndex;
    } catch (e) {
      throw badShards(`${file}: cannot read the optimizer index (${(e as Error).message})`);
    }
    const fail = (what: string) => badShards(`${file}: ${what}`);
    if (index?.format !== FORMAT || index.version !== 1) throw fail(`expected format '${FORMAT}' version 1, got '${index?.format}' version ${index?.version}`);
    const W = index.world_size;
    if (!Number.isInteger(W) || W < 1 || !Array.isArray(index.ranks) || index.ranks.length !== W) throw fail(`expected world_size ranks, got world_size ${W} and ${index.ranks?.length} ranks`);
    index.ranks.forEach((r, i) => {
      if (r.begin !== (i ? index.ranks[i - 1].end : 0) || !(r.end >= r.begin) || typeof r.file !== 'string' || path.basename(r.file) !== r.file)
        throw fail(`rank ${i}: expected a file name and a range [begin, end) following the previous rank's, got ${JSON.stringify(r)}`);
    });
    if (index.ranks[W - 1].end !== index.total) throw fail(`the ranks cover [0, ${index.ranks[W - 1].end}), not the ${index.total} values of the layout`);
    const B = index.check_block_bytes;
    if (!Number.isInteger(B) || B < 4 || B % 4 !== 0) throw fail(`check_block_bytes: expected a positive multiple of 4, got ${B}`);
    for (const p of index.params ?? []) {
      if (typeof p.name !== 'string' || !Number.isInteger(p.offset) || p.offset < 0 || p.offset + p.numel > index.total || !Array.isArray(p.fields))
        throw fail(`parameter ${JSON.stringify(p.name)}: expected a name, an offset and fields inside the layout`);
      this.params.set(p.name, p);
    }
    this.index = index;
  }

  /** The fields stored for a parameter, or undefined when the checkpoint does not have it. */
  fields(name: string): readonly string[] | undefined {
    return this.params.get(name)?.fields;
  }

  numel(name: string): number | undefined {
    return this.params.get(name)?.numel;
  }

  /** Values [from, to) of field `field` of parameter `name` (an error if the checkpoint lacks them). */
  read(name: string, field: string, from: number, to: number): Float32Array {
    const p = this.params.get(name);
    if (!p) throw badShards(`${this.dir}: the optimizer state has no parameter '${name}'`);
    if (!p.fields.includes(field)) throw badShards(`${this.dir}: the optimizer state has no '${field}' for '${name}' (it has ${p.fields.join(', ') || 'none'})`);
    if (!(Number.isInteger(from) && Number.isInteger(to) && from >= 0 && from <= to && to <= p.numel)) throw new RangeError(`OptimizerShardReader.read: expected 0 <= from <= to <= ${p.numel}, got [${from}, ${to})`);
    const out = new Float32Array(to - from);
    const bytes = new Uint8Array(out.buffer);
    this.index.ranks.forEach((r, q) => {
      // Rank q's tensor holds the parameter's values [lo, hi); this read wants [a, b) of them.
      const lo = Math.max(r.begin, p.offset) - p.offset, hi = Math.min(r.end, p.offset + p.numel) - p.offset;
      const a = Math.max(from, lo), b = Math.min(to, hi);
      if (a >= b) return;
      const s = this.shard(q);
      const key = `${name}:${field}`;
      const e = s.header.byName.get(key);
      if (!e || e.dtype !== 'F32' || e.numel !== hi - lo) throw badShards(`${s.file}: expected tensor '${key}' (F32, ${hi - lo} values), got ${e ? `${e.dtype}, ${e.numel} values` : 'none'}`);
      this.readChecked(s, key, s.header.dataStart + e.offsets[0], e.bytes, 4 * (a - lo), 4 * (b - lo), bytes.subarray(4 * (a - from), 4 * (b - from)));
    });
    for (let i = 0; i < out.length; ++i)
      if (!Number.isFinite(out[i])) throw badShards(`${this.dir}: '${name}:${field}' holds NaN or infinite values (value ${from + i})`);
    return out;
  }

  /** Bytes [s, e) of a tensor (at `at` in the file, `size` bytes) into `into`, checking every block they touch. */
  private readChecked(sh: OpenShard, key: string, at: number, size: number, s: number, e: number, into: Uint8Array): void {
    const sums = sh.sums[key];
    const B = this.index.check_block_bytes;
    const blocks = Math.ceil(size / B);
    if (!Array.isArray(sums) || sums.length !== blocks) throw badShards(`${sh.file}: tensor '${key}': no block checksums recorded`);
    const group = 4;  // blocks per read: bounds the scratch memory (4 MiB)
    const scratch = new Uint8Array(Math.min(group * B, size));
    for (let b = Math.floor(s / B); b * B < e; b += group) {
      const begin = b * B, end = Math.min(size, Math.min(b + group, Math.ceil(e / B)) * B);
      const buf = scratch.subarray(0, end - begin);
      readExact(sh.fd, buf, at + begin, sh.file, key);
      this.bytesRead += buf.length;
      for (let k = 0; k * B < buf.length; ++k) {
        const got = hex(crc32(buf.subarray(k * B, (k + 1) * B)));
        if (got !== sums[b + k]) throw badShards(`${sh.file}: tensor '${key}': checksum mismatch in block ${b + k} (recorded crc32 ${sums[b + k]}, data has ${got}): the file is damaged`);
      }
      const from = Math.max(s, begin), to = Math.min(e, end);
      into.set(buf.subarray(from - begin, to - begin), from - s);
    }
  }

  private shard(q: number): OpenShard {
    const have = this.open.get(q);
    if (have) return have;
    // A bounded number of open files (one process reading thousands of ranks' files): the
    // longest-open one is closed, and opened again if needed.
    if (this.open.size >= MAX_OPEN) {
      const [oldest, s] = this.open.entries().next().value as [number, OpenShard];
      fs.closeSync(s.fd);
      this.open.delete(oldest);
    }
    const file = path.join(this.dir, this.index.ranks[q].file);
    const { fd, size } = openForRead(file);
    try {
      const header = readHeaderFd(fd, size, file);
      let sums: Record<string, string[]>;
      try {
        sums = JSON.parse(header.metadata[CRC_KEY] ?? '') as Record<string, string[]>;
      } catch {
        throw badShards(`${file}: no valid '${CRC_KEY}' in the header`);
      }
      if (header.metadata.world_size !== String(this.index.world_size) || header.metadata.rank !== String(q) || header.metadata.step !== String(this.index.step))
        throw badShards(`${file}: written as rank ${header.metadata.rank} of ${header.metadata.world_size} at step ${header.metadata.step}, but the index expects rank ${q} of ${this.index.world_size} at step ${this.index.step}`);
      const s = { fd, file, header, sums };
      this.open.set(q, s);
      return s;
    } catch (e) {
      fs.closeSync(fd);
      throw e;
    }
  }

  /** The whole state in the single-process format (a one-process trainer loading a ZeRO checkpoint). */
  stateDict(): { step: number; params: Record<string, ParamStateDict> } {
    const params: Record<string, ParamStateDict> = {};
    for (const p of this.index.params) {
      const entry: ParamStateDict = { buffers: {} };
      for (const f of p.fields) {
        const values = this.read(p.name, f, 0, p.numel);
        if (f === 'master') entry.master = values;
        else entry.buffers[f] = values;
      }
      params[p.name] = entry;
    }
    return { step: this.index.step, params };
  }

  close(): void {
    for (const s of this.open.values()) fs.closeSync(s.fd);
    this.open.clear();
  }
}
