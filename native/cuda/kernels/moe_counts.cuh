// Per-expert counts of the routing slots without atomics, shared by the MoE permutation and the
// sequence balance loss. The slots (an i32 expert index each) are split into segments (the whole
// batch for the permutation, one sequence for the loss) and each segment into chunks of kChunk
// slots; one block per chunk counts, for every expert, the chunk's slots choosing it. Integer
// counts in a fixed layout: the same result on every run.
#pragma once

#include "simt_common.cuh"

namespace mt::kern {

struct ChunkCounts {
  static constexpr int kThreads = 256;
  static constexpr int kChunk = kThreads;  // one slot per thread
  static constexpr size_t kSmemBytes = kChunk * sizeof(int32_t);
  static int64_t chunks(int64_t slots) { return (slots + kChunk - 1) / kChunk; }
  static dev::Dim3 block() { return {kThreads, 1, 1}; }
};

struct ChunkCountArgs {
  const int32_t* experts = nullptr;  // [segments * seg_len]
  int32_t* counts = nullptr;         // [segments][E][chunks]: expert-major within a segment
  int64_t seg_len = 0, chunks = 0, E = 0;  // slots per segment, chunks per segment (blocks: segments * chunks)
};

// This block's chunk: its first slot and its length.
struct ChunkSpan {
  int64_t segment, chunk, first, n;
};
MT_DEVICE ChunkSpan chunk_span(int64_t seg_len, int64_t chunks) {
  const int64_t b = dev::block_idx().x, seg = b / chunks, c = b % chunks, start = c * ChunkCounts::kChunk;
  const int64_t left = seg_len - start;
  return {seg, c, seg * seg_len + start, left < ChunkCounts::kChunk ? left : ChunkCounts::kChunk};
}

// The chunk's expert indices into shared memory s (thread i holds slot i); a barrier follows.
MT_DEVICE void load_chunk(dev::Smem<int32_t> s, const int32_t* experts, const ChunkSpan& c) {
  const int tid = int(dev::thread_rank());
  if (tid < c.n) s.st(tid, experts[c.first + tid]);
  dev::sync_block();
}

MT_DEVICE void chunk_counts_body(const ChunkCountArgs& a) {
  const ChunkSpan c = chunk_span(a.seg_len, a.chunks);
  const dev::Smem<int32_t> s = dev::shared_at<int32_t>(0);
  load_chunk(s, a.experts, c);
  for (int64_t e = dev::thread_rank(); e < a.E; e += ChunkCounts::kThreads) {
    int32_t n = 0;
    for (int i = 0; i < c.n; ++i) n += s.ld(i) == e;
    a.counts[(c.segment * a.E + e) * a.chunks + c.chunk] = n;
  }
}

}  // namespace mt::kern
