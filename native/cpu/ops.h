// CPU implementations of the public ops. Arguments arrive validated (native/napi/validate.h).
#pragma once
#include <array>
#include <vector>

#include "../core/tensor.h"

namespace mt::cpu {

Tensor matmul(const Tensor& a, const Tensor& b, bool trans_a, bool trans_b, const Tensor* add = nullptr);
Tensor grouped_matmul(const Tensor& x, const Tensor& w, const std::vector<int64_t>& group_sizes, bool trans_b, const Tensor* add = nullptr);
Tensor grouped_weight_grad(const Tensor& x, const Tensor& dy, const std::vector<int64_t>& group_sizes);

struct NewtonSchulzOptions {
  std::vector<std::array<float, 3>> coefficients;  // one (a, b, c) per step
  float eps = 1e-7f;
};
Tensor newton_schulz(const Tensor& x, const NewtonSchulzOptions& options);

}  // namespace mt::cpu
