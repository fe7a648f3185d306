#include "gemm.h"
#include "linalg_ops.h"

namespace mt::cpu {

Tensor matmul(const Tensor& a, const Tensor& b, bool trans_a, bool trans_b, const Tensor* add) {
  const int64_t m = trans_a ? a.shape[1] : a.shape[0];
  const int64_t k = trans_a ? a.shape[0] : a.shape[1];
  const int64_t n = trans_b ? b.shape[0] : b.shape[1];
  Tensor c = empty_tensor({m, n}, a.dtype);
  GemmProblem p;
  p.M = m;
  p.N = n;
  p.K = k;
  p.A = {a.data(), a.dtype, a.shape[1], trans_a};
  p.B = {b.data(), b.dtype, b.shape[1], trans_b};
  p.C = c.data();
  p.c_dtype = c.dtype;
  p.ldc = n;
  if (add) {
    p.Cin = add->data();
    p.beta = 1.f;
  }
  gemm(p);
  return c;
}

}  // namespace mt::cpu
