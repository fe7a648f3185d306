// The expert weight gradient for all experts in one call (rows of x and dy sorted by expert).
#include "gemm.h"
#include "linalg_ops.h"

namespace mt::cpu {

// out[e] = x_eᵀ · dy_e : the gradient of every expert's weight; an empty group gives zeros.
Tensor grouped_weight_grad(const Tensor& x, const Tensor& dy, const Tensor& group_sizes_t) {
  const int64_t K = x.shape[1], N = dy.shape[1];
  const int64_t E = group_sizes_t.numel();
  const int32_t* group_sizes = group_sizes_t.ptr<const int32_t>();
  const size_t es = dtype_size(x.dtype);
  Tensor out = empty_tensor({E, K, N}, x.dtype);
  std::vector<GemmProblem> problems;
  int64_t row = 0;
  for (int64_t e = 0; e < E; ++e) {
    const int64_t g = group_sizes[e];
    GemmProblem p;
    p.M = K;
    p.N = N;
    p.K = g;
    p.A = {static_cast<const char*>(x.data()) + row * K * es, x.dtype, K, true};
    p.B = {static_cast<const char*>(dy.data()) + row * N * es, dy.dtype, N, false};
    p.C = static_cast<char*>(out.data()) + e * K * N * es;
    p.c_dtype = out.dtype;
    p.ldc = N;
    problems.push_back(p);
    row += g;
  }
  gemm_batch(problems.data(), E);
  return out;
}

}  // namespace mt::cpu
