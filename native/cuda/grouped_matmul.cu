// groupedMatmul on the GPU: out[rows of e] = x_e · op(w[e]) (+ add), the group sizes read on the
// device only (kernels/gemm_grouped.cuh).
#include "../op_types.h"
#include "group_offsets.h"

namespace mt::cuda {

Tensor grouped_matmul(const Tensor& x, const Tensor& w, const Tensor& group_sizes, bool trans_b, const Tensor* add) {
  const int64_t rows = x.shape[0], K = x.shape[1], N = trans_b ? w.shape[1] : w.shape[2];
  Tensor out = empty_tensor({rows, N}, x.dtype, Device::CUDA);
  if (rows == 0 || N == 0) return out;
  const GroupOffsets groups("groupedMatmul", group_sizes);
  with_type(x.dtype, [&](auto zero) {
    using E = decltype(zero);
    kern::GroupedGemmArgs<E> a;
    a.g.N = int(N), a.g.K = int(K);
    a.g.A = x.ptr<E>(), a.g.lda = int(K), a.g.B = w.ptr<E>(), a.g.ldb = int(trans_b ? K : N), a.g.C = out.ptr<E>(), a.g.ldc = int(N);
    if (add) a.g.D = add->ptr<E>(), a.g.ldd = int(N);
    a.stride_b = K * N, a.offsets = groups.offsets(), a.tiles = groups.tiles(), a.groups = groups.groups();
    check("groupedMatmul", grouped_matmul_gemm(a, rows, trans_b, nullptr), "launch of grouped_matmul_kernel");
  });
  return out;
}

}  // namespace mt::cuda
