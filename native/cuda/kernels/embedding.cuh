// Embedding lookup (rows of the weight copied bit for bit) and its gradient as a gather: the
// tokens are grouped per vocabulary row by a counting sort on the host (the ids live there), and
// each output element sums its tokens' gradients in token order, in float: no atomics, the same
// bits on every run and as the CPU kernel.
#pragma once

#include <vector>

#include "simt_common.cuh"

namespace mt::kern {

template <class T>
struct EmbeddingArgs {
  const T* weight = nullptr;  // forward: [V,D]
  const T* dy = nullptr;      // backward: [T,D]
  T* out = nullptr;           // forward [T,D], backward [V,D]
  const int32_t* ids = nullptr;     // forward: [T]
  const int32_t* start = nullptr;   // backward: [V+1], tokens of row v at tokens[start[v] .. start[v+1])
  const int32_t* tokens = nullptr;  // backward: [T]
  int64_t rows = 0, D = 0;          // output rows
};

// The counting sort of the backward, on the host: tokens[start[v] .. start[v+1]) are the tokens
// with id v, in token order.
struct EmbeddingBuckets {
  std::vector<int32_t> start, tokens;
};
inline EmbeddingBuckets embedding_buckets(const std::vector<int32_t>& ids, int64_t vocab) {
  EmbeddingBuckets b{std::vector<int32_t>(size_t(vocab) + 1, 0), std::vector<int32_t>(ids.size())};
  for (int32_t id : ids) ++b.start[size_t(id) + 1];
  for (int64_t v = 0; v < vocab; ++v) b.start[v + 1] += b.start[v];
  std::vector<int32_t> cursor(b.start.begin(), b.start.end() - 1);
  for (size_t t = 0; t < ids.size(); ++t) b.tokens[size_t(cursor[ids[t]]++)] = int32_t(t);
  return b;
}

template <class T>
MT_DEVICE void embedding_body(const EmbeddingArgs<T>& a) {
  for (int64_t i = global_index(); i < a.rows * a.D; i += grid_stride()) {
    const int64_t t = i / a.D, j = i % a.D;
    a.out[i] = a.weight[int64_t(a.ids[t]) * a.D + j];
  }
}

template <class T>
MT_DEVICE void embedding_backward_body(const EmbeddingArgs<T>& a) {
  for (int64_t i = global_index(); i < a.rows * a.D; i += grid_stride()) {
    const int64_t v = i / a.D, j = i % a.D;
    float acc = 0;
    for (int32_t k = a.start[v]; k < a.start[v + 1]; ++k) acc += to_f32(a.dy[int64_t(a.tokens[k]) * a.D + j]);
    a.out[i] = from_f32<T>(acc);
  }
}

}  // namespace mt::kern
