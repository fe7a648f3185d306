// Softmax cross-entropy over logits [T,V] with integer targets; targets < 0 are ignored.
#include <cmath>
#include <limits>

#include "../../core/fast_math.h"
#include "../nn_ops.h"
#include "nn_avx512.h"
#include "row_reduce.h"

namespace mt::cpu {

using namespace nn;

CrossEntropyResult cross_entropy(const Tensor& logits, const std::vector<int32_t>& targets) {
  const int64_t T = logits.shape[0], V = logits.shape[1];
  CrossEntropyResult r;
  r.lse = empty_tensor({T}, DType::F32);
  float* lse = f32_mut(r.lse);
  std::vector<double> row_loss(static_cast<size_t>(T), 0.0);
  const bool wide = avx512_rows();
  parallel_chunks(T, grain_for(V), [&](int64_t t0, int64_t t1) {
    std::vector<float> row(static_cast<size_t>(wide ? 0 : V));
    for (int64_t t = t0; t < t1; ++t) {
      if (wide) {
        lse[t] = avx512::row_logsumexp(logits.data(), logits.dtype, t * V, V);
        if (targets[t] >= 0) row_loss[t] = static_cast<double>(lse[t]) - load_as_f32(logits.data(), logits.dtype, t * V + targets[t]);
        continue;
      }
      load_f32(logits.data(), logits.dtype, t * V, V, row.data());
      const float m = row_max(row.data(), V);
      const float target_logit = targets[t] >= 0 ? row[targets[t]] : 0.f;
      const double sum = exp_shift_sum(row.data(), V, m);
      const double l = m + std::log(sum);
      lse[t] = static_cast<float>(l);
      if (targets[t] >= 0) row_loss[t] = l - target_logit;
    }
  });
  double total = 0;
  for (int64_t t = 0; t < T; ++t) {
    if (targets[t] < 0) continue;
    total += row_loss[t];
    ++r.count;
  }
  r.loss = r.count > 0 ? total / static_cast<double>(r.count) : 0.0;
  return r;
}

// dlogits = scale * (softmax(logits) - onehot(target)); zero rows for ignored targets.
Tensor cross_entropy_backward(const Tensor& logits, const std::vector<int32_t>& targets, const Tensor& lse, float scale) {
  const int64_t T = logits.shape[0], V = logits.shape[1];
  Tensor d = empty_tensor({T, V}, logits.dtype);
  const float* l = f32_data(lse);
  const bool wide = avx512_rows();
  parallel_chunks(T, grain_for(V), [&](int64_t t0, int64_t t1) {
    std::vector<float> row(static_cast<size_t>(V));
    for (int64_t t = t0; t < t1; ++t) {
      if (wide && targets[t] >= 0) {
        avx512::row_softmax_grad(logits.data(), logits.dtype, t * V, V, l[t], targets[t], scale, d.data());
        continue;
      }
      if (targets[t] < 0) {
        std::fill(row.begin(), row.end(), 0.0f);
      } else {
        load_f32(logits.data(), logits.dtype, t * V, V, row.data());
        const float lt = l[t];  // a local, so the loop does not reload it after each store (and vectorizes)
        float* x = row.data();
        for (int64_t j = 0; j < V; ++j) x[j] = scale * fast_exp(x[j] - lt);
        row[targets[t]] -= scale;
      }
      store_f32(d.data(), d.dtype, t * V, V, row.data());
    }
  });
  return d;
}

}  // namespace mt::cpu
