// groupedWeightGrad on the GPU: out[e] = x_eᵀ · dy_e (zeros for an empty group), the group sizes
// read on the device only (kernels/gemm_grouped.cuh).
#include "../op_types.h"
#include "group_offsets.h"

namespace mt::cuda {

Tensor grouped_weight_grad(const Tensor& x, const Tensor& dy, const Tensor& group_sizes) {
  const int64_t K = x.shape[1], N = dy.shape[1];
  Tensor out = empty_tensor({group_sizes.numel(), K, N}, x.dtype, Device::CUDA);
  if (out.numel() == 0) return out;
  const GroupOffsets groups("groupedWeightGrad", group_sizes);
  with_type(x.dtype, [&](auto zero) {
    using E = decltype(zero);
    kern::GroupedGemmArgs<E> a;
    a.g.M = int(K), a.g.N = int(N);
    a.g.A = x.ptr<E>(), a.g.lda = int(K), a.g.B = dy.ptr<E>(), a.g.ldb = int(N), a.g.C = out.ptr<E>(), a.g.ldc = int(N);
    a.stride_c = K * N, a.offsets = groups.offsets(), a.groups = groups.groups();
    check("groupedWeightGrad", grouped_weight_grad_gemm(a, nullptr), "launch of grouped_weight_grad_kernel");
  });
  return out;
}

}  // namespace mt::cuda
