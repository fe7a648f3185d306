// matmul on the GPU: C = op(a) op(b) (+ add) through the dense GEMMs of gemm.cu (bf16 on
// mma.sync, f32 on FFMA).
#include "../op_types.h"
#include "gemm.h"
#include "launch.h"

namespace mt::cuda {

Tensor matmul(const Tensor& a, const Tensor& b, bool trans_a, bool trans_b, const Tensor* add) {
  const int64_t m = trans_a ? a.shape[1] : a.shape[0], k = trans_a ? a.shape[0] : a.shape[1], n = trans_b ? b.shape[0] : b.shape[1];
  Tensor c = empty_tensor({m, n}, a.dtype, Device::CUDA);
  if (m == 0 || n == 0) return c;
  const auto args = [&](auto zero) {
    using E = decltype(zero);
    kern::GemmArgs<E> p;
    p.M = int(m), p.N = int(n), p.K = int(k);
    p.A = a.ptr<E>(), p.lda = int(a.shape[1]), p.B = b.ptr<E>(), p.ldb = int(b.shape[1]), p.C = c.ptr<E>(), p.ldc = int(n);
    if (add) p.D = add->ptr<E>(), p.ldd = int(n);
    return p;
  };
  if (a.dtype == DType::BF16) check("matmul", gemm_bf16(args(uint16_t{}), trans_a, trans_b, nullptr), "launch of gemm_bf16_kernel");
  else check("matmul", gemm_f32(args(float{}), trans_a, trans_b, nullptr), "launch of gemm_f32_kernel");
  return c;
}

}  // namespace mt::cuda
