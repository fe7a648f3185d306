// Softmax cross-entropy over logits [T,V] with targets (< 0: ignored). The forward is one block
// per row: max, then the sum of exp in double (fixed-order trees), lse = max + log(sum) and the
// row's loss lse - logit[target] in double. The gradient scale (softmax - onehot(target)) (zero
// rows for ignored targets) is elementwise from lse, in place on the logits or into a new tensor.
#pragma once

#include <vector>

#include "simt_common.cuh"

namespace mt::kern {

template <class T>
struct CrossEntropyArgs {
  const T* logits = nullptr;
  T* grad = nullptr;  // may be the logits
  const int32_t* targets = nullptr;
  float* lse = nullptr;
  double* row_loss = nullptr;  // [T]: lse - logit[target], 0 for an ignored row
  int64_t rows = 0, V = 0;
  float scale = 0;
};

// The mean loss over counted rows from the rows' losses (on the host, in row order), and the count.
inline double mean_loss(const std::vector<double>& row_loss, const std::vector<int32_t>& targets, int64_t* count) {
  double total = 0;
  *count = 0;
  for (size_t t = 0; t < targets.size(); ++t)
    if (targets[t] >= 0) {
      total += row_loss[t];
      ++*count;
    }
  return *count > 0 ? total / double(*count) : 0.0;
}

template <class T>
MT_DEVICE void cross_entropy_body(const CrossEntropyArgs<T>& a) {
  const int64_t t = dev::block_idx().x, off = t * a.V;
  float m = -INFINITY;
  for (int64_t j = dev::thread_rank(); j < a.V; j += RowBlock::kThreads) m = MaxOp{}(m, to_f32(a.logits[off + j]));
  m = block_reduce<RowBlock::kThreads>(dev::shared_at<float>(0), m, MaxOp{});
  double sum = 0;
  for (int64_t j = dev::thread_rank(); j < a.V; j += RowBlock::kThreads) sum += expf(to_f32(a.logits[off + j]) - m);
  sum = block_reduce<RowBlock::kThreads>(dev::shared_at<double>(0), sum, SumOp{});
  if (dev::thread_rank() == 0) {
    const double l = double(m) + log(sum);
    const int32_t target = a.targets[t];
    a.lse[t] = float(l);
    a.row_loss[t] = target >= 0 ? l - double(to_f32(a.logits[off + target])) : 0.0;
  }
}

template <class T>
MT_DEVICE void cross_entropy_grad_body(const CrossEntropyArgs<T>& a) {
  for (int64_t i = global_index(); i < a.rows * a.V; i += grid_stride()) {
    const int64_t t = i / a.V, j = i % a.V;
    const int32_t target = a.targets[t];
    float g = 0;
    if (target >= 0) {
      g = a.scale * expf(to_f32(a.logits[i]) - a.lse[t]);
      if (j == target) g -= a.scale;
    }
    a.grad[i] = from_f32<T>(g);
  }
}

}  // namespace mt::kern
