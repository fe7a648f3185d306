// Token embedding lookup and its gradient (a scatter-add done as a gather: tokens are grouped per
// vocabulary row by a counting sort, and each row sums its tokens' gradients in token order).
#include "../nn_ops.h"

namespace mt::cpu {

using namespace nn;

Tensor embedding(const Tensor& weight, const std::vector<int32_t>& ids) {
  const int64_t T = static_cast<int64_t>(ids.size()), D = weight.shape[1];
  Tensor out = empty_tensor({T, D}, weight.dtype);
  const size_t row_bytes = static_cast<size_t>(D) * dtype_size(weight.dtype);
  const char* src = static_cast<const char*>(weight.data());
  char* dst = static_cast<char*>(out.data());
  parallel_chunks(T, grain_for(D), [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t)
      if (row_bytes) std::memcpy(dst + t * row_bytes, src + static_cast<int64_t>(ids[t]) * row_bytes, row_bytes);
  });
  return out;
}

Tensor embedding_backward(const Tensor& dy, const std::vector<int32_t>& ids, int64_t vocab_size) {
  const int64_t T = static_cast<int64_t>(ids.size()), D = dy.shape[1], V = vocab_size;
  // Counting sort: tokens[start[v] .. start[v+1]) are the tokens with id v, in token order.
  std::vector<int64_t> start(static_cast<size_t>(V) + 1, 0);
  for (int32_t id : ids) ++start[static_cast<size_t>(id) + 1];
  for (int64_t v = 0; v < V; ++v) start[v + 1] += start[v];
  std::vector<int64_t> cursor(start.begin(), start.end() - 1);
  std::vector<int64_t> tokens(static_cast<size_t>(T));
  for (int64_t t = 0; t < T; ++t) tokens[cursor[ids[t]]++] = t;

  Tensor dw = empty_tensor({V, D}, dy.dtype);
  const int64_t avg_tokens = V > 0 ? (T + V - 1) / V : 0;
  parallel_chunks(V, grain_for(D * (1 + avg_tokens)), [&](int64_t v0, int64_t v1) {
    std::vector<float> acc(static_cast<size_t>(D)), row(static_cast<size_t>(D));
    for (int64_t v = v0; v < v1; ++v) {
      std::fill(acc.begin(), acc.end(), 0.0f);
      for (int64_t i = start[v]; i < start[v + 1]; ++i) {
        load_f32(dy.data(), dy.dtype, tokens[i] * D, D, row.data());
        for (int64_t j = 0; j < D; ++j) acc[j] += row[j];
      }
      store_f32(dw.data(), dw.dtype, v * D, D, acc.data());
    }
  });
  return dw;
}

}  // namespace mt::cpu
