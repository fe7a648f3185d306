// Softmax cross-entropy over logits [T,V] with integer targets; targets < 0 are ignored.
#include <cmath>
#include <limits>

#include "../../core/fast_math.h"
#include "../nn_ops.h"
#include "nn_avx512.h"
#include "row_reduce.h"

namespace mt::cpu {

using namespace nn;

namespace {

// Row t of dlogits = scale * (softmax(logits) - onehot(target)) (zeros for an ignored target),
// from the row's log-sum-exp; out may be logits itself. row: V floats of scratch.
void softmax_grad_row(const Tensor& logits, int64_t t, int32_t target, float lse, float scale, bool wide, float* row, void* out) {
  const int64_t V = logits.shape[1];
  if (wide && target >= 0) {
    avx512::row_softmax_grad(logits.data(), logits.dtype, t * V, V, lse, target, scale, out);
    return;
  }
  if (target < 0) {
    std::fill(row, row + V, 0.0f);
  } else {
    load_f32(logits.data(), logits.dtype, t * V, V, row);
    for (int64_t j = 0; j < V; ++j) row[j] = scale * fast_exp(row[j] - lse);
    row[target] -= scale;
  }
  store_f32(out, logits.dtype, t * V, V, row);
}

}  // namespace

// With grad_in_place, each row is overwritten by the gradient of the mean loss right after its
// log-sum-exp, while it is still in cache (a separate backward read the [T, V] logits again).
CrossEntropyResult cross_entropy(const Tensor& logits, const std::vector<int32_t>& targets, bool grad_in_place) {
  const int64_t T = logits.shape[0], V = logits.shape[1];
  CrossEntropyResult r;
  for (int64_t t = 0; t < T; ++t) r.count += targets[t] >= 0;
  const float scale = r.count > 0 ? 1.0f / static_cast<float>(r.count) : 0.0f;
  r.lse = empty_tensor({T}, DType::F32);
  float* lse = f32_mut(r.lse);
  std::vector<double> row_loss(static_cast<size_t>(T), 0.0);
  const bool wide = avx512_rows();
  parallel_chunks(T, grain_for(V), [&](int64_t t0, int64_t t1) {
    std::vector<float> row(static_cast<size_t>(wide && !grad_in_place ? 0 : V));
    for (int64_t t = t0; t < t1; ++t) {
      if (wide) {
        lse[t] = avx512::row_logsumexp(logits.data(), logits.dtype, t * V, V);
        if (targets[t] >= 0) row_loss[t] = static_cast<double>(lse[t]) - load_as_f32(logits.data(), logits.dtype, t * V + targets[t]);
      } else {
        load_f32(logits.data(), logits.dtype, t * V, V, row.data());
        const float m = row_max(row.data(), V);
        const float target_logit = targets[t] >= 0 ? row[targets[t]] : 0.f;
        const double sum = exp_shift_sum(row.data(), V, m);
        const double l = m + std::log(sum);
        lse[t] = static_cast<float>(l);
        if (targets[t] >= 0) row_loss[t] = l - target_logit;
      }
      if (grad_in_place) softmax_grad_row(logits, t, targets[t], lse[t], scale, wide, row.data(), logits.data());
    }
  });
  double total = 0;
  for (int64_t t = 0; t < T; ++t)
    if (targets[t] >= 0) total += row_loss[t];
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
    for (int64_t t = t0; t < t1; ++t) softmax_grad_row(logits, t, targets[t], l[t], scale, wide, row.data(), d.data());
  });
  return d;
}

}  // namespace mt::cpu
