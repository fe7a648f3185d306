// CPU matrix products and Newton–Schulz. Arguments arrive validated (native/napi/ops/linalg.cc).
#pragma once
#include <array>
#include <vector>

#include "../core/tensor.h"
#include "../op_types.h"

namespace mt::cpu {

Tensor matmul(const Tensor& a, const Tensor& b, bool trans_a, bool trans_b, const Tensor* add = nullptr);
Tensor grouped_matmul(const Tensor& x, const Tensor& w, const Tensor& group_sizes, bool trans_b, const Tensor* add = nullptr);
Tensor grouped_weight_grad(const Tensor& x, const Tensor& dy, const Tensor& group_sizes);

Tensor newton_schulz(const Tensor& x, const NewtonSchulzOptions& options);

}  // namespace mt::cpu
