// RMSNorm and its backward on the GPU (bodies in kernels/rms_norm.cuh).
#include "../op_types.h"
#include "kernels/rms_norm.cuh"
#include "launch.h"

namespace mt::cuda {
namespace {

using kern::Elementwise;
using kern::RowBlock;

template <class T>
__global__ void __launch_bounds__(RowBlock::kThreads) rms_norm_kernel(kern::RmsNormArgs<T> a) { kern::rms_norm_body(a); }
template <class T>
__global__ void __launch_bounds__(RowBlock::kThreads) rms_norm_backward_dx_kernel(kern::RmsNormArgs<T> a) { kern::rms_norm_backward_dx_body(a); }
template <class T>
__global__ void __launch_bounds__(Elementwise::kThreads) rms_norm_backward_dw_kernel(kern::RmsNormArgs<T> a) { kern::rms_norm_backward_dw_body(a); }

}  // namespace

RmsNormResult rms_norm(const Tensor& x, const Tensor& weight, double eps) {
  const int64_t T = x.shape[0], D = x.shape[1];
  RmsNormResult r{empty_tensor({T, D}, x.dtype, Device::CUDA), empty_tensor({T}, DType::F32, Device::CUDA)};
  if (T == 0) return r;
  with_type(x.dtype, [&](auto zero) {
    using E = decltype(zero);
    kern::RmsNormArgs<E> a;
    a.x = x.ptr<E>(), a.w = weight.ptr<E>(), a.y = r.y.ptr<E>(), a.rstd = r.rstd.ptr<float>(), a.rows = T, a.D = D, a.eps = eps;
    launch("rmsNorm", "rms_norm_kernel", rms_norm_kernel<E>, unsigned(T), to_dim3(RowBlock::block()), RowBlock::kSmemBytes, a);
  });
  return r;
}

RmsNormGrads rms_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& weight, const Tensor& rstd) {
  const int64_t T = x.shape[0], D = x.shape[1];
  RmsNormGrads g{empty_tensor({T, D}, x.dtype, Device::CUDA), empty_tensor({D}, weight.dtype, Device::CUDA)};
  with_type(x.dtype, [&](auto zero) {
    using E = decltype(zero);
    kern::RmsNormArgs<E> a;
    a.x = x.ptr<E>(), a.w = weight.ptr<E>(), a.dy = dy.ptr<E>(), a.dx = g.dx.ptr<E>(), a.dw = g.dweight.ptr<E>();
    a.rstd = rstd.ptr<float>(), a.rows = T, a.D = D;
    if (T > 0) {
      launch("rmsNormBackward", "rms_norm_backward_dx_kernel", rms_norm_backward_dx_kernel<E>, unsigned(T), to_dim3(RowBlock::block()), RowBlock::kSmemBytes, a);
    }
    launch("rmsNormBackward", "rms_norm_backward_dw_kernel", rms_norm_backward_dw_kernel<E>, to_dim3(Elementwise::grid(D)), to_dim3(Elementwise::block()), 0, a);
  });
  return g;
}

}  // namespace mt::cuda
