// Expert GEMMs for all experts in one call: rows of x are sorted by expert, group e owns
// group_sizes[e] consecutive rows. No padding: each expert is its own problem in one batch.
#include "gemm.h"
#include "linalg_ops.h"

namespace mt::cpu {

// out[rows of e] = x_e · w[e]  (w[e] stored [K, N], or [N, K] when trans_b)
Tensor grouped_matmul(const Tensor& x, const Tensor& w, const Tensor& group_sizes_t, bool trans_b, const Tensor* add) {
  const int64_t T = x.shape[0], K = x.shape[1];
  const int64_t N = trans_b ? w.shape[1] : w.shape[2];
  const size_t es = dtype_size(x.dtype);
  Tensor out = empty_tensor({T, N}, x.dtype);
  std::vector<GemmProblem> problems;
  int64_t row = 0;
  const int32_t* group_sizes = group_sizes_t.ptr<const int32_t>();
  for (int64_t e = 0, E = group_sizes_t.numel(); e < E; ++e) {
    const int64_t g = group_sizes[e];
    if (g > 0) {
      GemmProblem p;
      p.M = g;
      p.N = N;
      p.K = K;
      p.A = {static_cast<const char*>(x.data()) + row * K * es, x.dtype, K, false};
      p.B = {static_cast<const char*>(w.data()) + e * K * N * es, w.dtype, trans_b ? K : N, trans_b};
      p.C = static_cast<char*>(out.data()) + row * N * es;
      p.c_dtype = out.dtype;
      p.ldc = N;
      if (add) {
        p.Cin = static_cast<const char*>(add->data()) + row * N * es;
        p.beta = 1.f;
      }
      problems.push_back(p);
    }
    row += g;
  }
  gemm_batch(problems.data(), static_cast<int64_t>(problems.size()));
  return out;
}

}  // namespace mt::cpu
