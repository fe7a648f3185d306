// MoE token permutation to expert order and back, with no host synchronisation and no atomics.
// The permutation is a stable counting sort of the flat slots f = t*K + slot by expert, in four
// launches: per-chunk expert counts (moe_counts.cuh), one block's exclusive scan of the counts in
// expert-major order (every (expert, chunk) pair's first sorted row; the group sizes from it), a
// scatter where each slot's row is its pair's first row plus the slots of its chunk before it
// with the same expert, and the gather of x's rows. Within an expert the rows follow f: by token,
// then slot. The unpermutation, its backward and the permutation's backward sum a token's slots
// in slot order, in float (the dot products of the weights' gradient in double), as on the CPU.
#pragma once

#include "moe_counts.cuh"

namespace mt::kern {

// The scan: one block.
struct CountScan {
  static constexpr int kThreads = 256;
  static constexpr size_t kSmemBytes = kThreads * sizeof(int32_t);
  static dev::Dim3 block() { return {kThreads, 1, 1}; }
};

struct PermuteArgs {
  const int32_t* experts = nullptr;  // [N]
  int32_t* offsets = nullptr;        // [E][chunks]: the counts, replaced by the scan with first rows
  int32_t* group_sizes = nullptr;    // [E]
  int32_t* order = nullptr;          // [N]: order[row] = f
  int64_t N = 0, E = 0, chunks = 0;
};

// The exclusive prefix sum of every thread's v over a block of N threads (a power of two), by a
// fixed tree in shared memory s (N values); s is free again on return.
template <int N>
MT_DEVICE int32_t block_exclusive_scan(dev::Smem<int32_t> s, int32_t v) {
  const int tid = int(dev::thread_rank());
  s.st(tid, v);
  dev::sync_block();
  for (int d = 1; d < N; d <<= 1) {
    const int32_t left = tid >= d ? s.ld(tid - d) : 0;
    dev::sync_block();
    s.st(tid, s.ld(tid) + left);
    dev::sync_block();
  }
  const int32_t inclusive = s.ld(tid);
  dev::sync_block();
  return inclusive - v;
}

// Thread i scans a contiguous run of the E*chunks counts, then the group sizes are differences of
// the experts' first rows.
MT_DEVICE void permute_scan_body(const PermuteArgs& a) {
  const int64_t m = a.E * a.chunks, per = (m + CountScan::kThreads - 1) / CountScan::kThreads;
  const int64_t tid = dev::thread_rank(), lo = tid * per < m ? tid * per : m, hi = lo + per < m ? lo + per : m;
  int32_t sum = 0;
  for (int64_t i = lo; i < hi; ++i) sum += a.offsets[i];
  int32_t at = block_exclusive_scan<CountScan::kThreads>(dev::shared_at<int32_t>(0), sum);
  for (int64_t i = lo; i < hi; ++i) {
    const int32_t n = a.offsets[i];
    a.offsets[i] = at;
    at += n;
  }
  dev::sync_block();  // every thread's first rows are visible to the block
  for (int64_t e = tid; e < a.E; e += CountScan::kThreads)
    a.group_sizes[e] = (e + 1 < a.E ? a.offsets[(e + 1) * a.chunks] : int32_t(a.N)) - a.offsets[e * a.chunks];
}

// One block per chunk (ChunkCounts geometry): slot f's row.
MT_DEVICE void permute_scatter_body(const PermuteArgs& a) {
  const ChunkSpan c = chunk_span(a.N, a.chunks);
  const dev::Smem<int32_t> s = dev::shared_at<int32_t>(0);
  load_chunk(s, a.experts, c);
  const int tid = int(dev::thread_rank());
  if (tid >= c.n) return;
  const int32_t e = s.ld(tid);
  int32_t before = 0;
  for (int i = 0; i < tid; ++i) before += s.ld(i) == e;
  a.order[a.offsets[e * a.chunks + c.chunk] + before] = int32_t(c.first + tid);
}

// Row copies by element size (uint16_t or uint32_t: the bits of any dtype).
template <class T>
struct PermuteGatherArgs {
  const T* x = nullptr;  // [T, D]
  T* xs = nullptr;       // [N, D]
  const int32_t* order = nullptr;
  int64_t N = 0, D = 0, K = 0;
};

template <class T>
MT_DEVICE void permute_gather_body(const PermuteGatherArgs<T>& a) {
  for (int64_t i = global_index(); i < a.N * a.D; i += grid_stride()) {
    const int64_t r = i / a.D, j = i % a.D;
    a.xs[i] = a.x[int64_t(a.order[r] / a.K) * a.D + j];
  }
}

// rows[order[r]] = r: the sorted row of each slot (order is a permutation, so every entry is
// written once).
MT_DEVICE void inverse_order_body(const int32_t* order, int32_t* rows, int64_t n) {
  for (int64_t r = global_index(); r < n; r += grid_stride()) rows[order[r]] = int32_t(r);
}

template <class T>
struct UnpermuteArgs {
  const T* ys = nullptr;          // unpermute: [N, D]; its backward: the expert outputs
  const T* dy = nullptr;          // unpermute backward: [T, D]
  const T* dxs = nullptr;         // permute backward: [N, D]
  const float* weights = nullptr;  // [T, K]; null for the permute backward (weights of 1)
  const int32_t* rows = nullptr;   // [N]: rows[f], the inverse of order
  const int32_t* order = nullptr;  // [N]
  T* out = nullptr;                // y [T, D], dx [T, D] or dys [N, D]
  float* dweights = nullptr;       // [T, K]
  int64_t tokens = 0, K = 0, D = 0;
};

// y[t] = sum over slots of w[t,slot] * ys[row of (t,slot)]; with no weights (the permute
// backward), dx[t] = sum over slots of dxs[row of (t,slot)].
template <class T>
MT_DEVICE void unpermute_body(const UnpermuteArgs<T>& a) {
  const T* src = a.weights ? a.ys : a.dxs;
  for (int64_t i = global_index(); i < a.tokens * a.D; i += grid_stride()) {
    const int64_t t = i / a.D, j = i % a.D;
    float acc = 0;
    for (int64_t k = 0; k < a.K; ++k) {
      const float v = to_f32(src[int64_t(a.rows[t * a.K + k]) * a.D + j]);
      acc += a.weights ? a.weights[t * a.K + k] * v : v;
    }
    a.out[i] = from_f32<T>(acc);
  }
}

// dys[row] = w[f] * dy[f / K] with f = order[row].
template <class T>
MT_DEVICE void unpermute_backward_dys_body(const UnpermuteArgs<T>& a) {
  const int64_t n = a.tokens * a.K;
  for (int64_t i = global_index(); i < n * a.D; i += grid_stride()) {
    const int64_t r = i / a.D, j = i % a.D, f = a.order[r];
    a.out[i] = from_f32<T>(a.weights[f] * to_f32(a.dy[(f / a.K) * a.D + j]));
  }
}

// dweights[f] = dy[f / K] . ys[row], in double: one block (RowBlock) per sorted row.
template <class T>
MT_DEVICE void unpermute_backward_dweights_body(const UnpermuteArgs<T>& a) {
  const int64_t r = dev::block_idx().x, f = a.order[r], t = f / a.K;
  double dot = 0;
  for (int64_t j = dev::thread_rank(); j < a.D; j += RowBlock::kThreads) dot += double(to_f32(a.dy[t * a.D + j])) * to_f32(a.ys[r * a.D + j]);
  dot = block_reduce<RowBlock::kThreads>(dev::shared_at<double>(0), dot, SumOp{});
  if (dev::thread_rank() == 0) a.dweights[f] = float(dot);
}

}  // namespace mt::kern
