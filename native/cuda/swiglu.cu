// SwiGLU and its backward on the GPU (bodies in kernels/swiglu.cuh).
#include "../op_types.h"
#include "kernels/swiglu.cuh"
#include "launch.h"

namespace mt::cuda {
namespace {

using kern::Elementwise;

template <class T>
__global__ void __launch_bounds__(Elementwise::kThreads) swiglu_kernel(kern::SwigluArgs<T> a) { kern::swiglu_body(a); }
template <class T>
__global__ void __launch_bounds__(Elementwise::kThreads) swiglu_backward_kernel(kern::SwigluArgs<T> a) { kern::swiglu_backward_body(a); }

}  // namespace

Tensor swiglu(const Tensor& gate, const Tensor& up) {
  Tensor y = empty_tensor(gate.shape, gate.dtype, Device::CUDA);
  const int64_t n = gate.numel();
  with_type(gate.dtype, [&](auto zero) {
    using T = decltype(zero);
    kern::SwigluArgs<T> a;
    a.gate = gate.ptr<T>(), a.up = up.ptr<T>(), a.y = y.ptr<T>(), a.n = n;
    launch("swiglu", "swiglu_kernel", swiglu_kernel<T>, to_dim3(Elementwise::grid(n)), to_dim3(Elementwise::block()), 0, a);
  });
  return y;
}

SwigluGrads swiglu_backward(const Tensor& dy, const Tensor& gate, const Tensor& up) {
  SwigluGrads r{empty_tensor(gate.shape, gate.dtype, Device::CUDA), empty_tensor(gate.shape, gate.dtype, Device::CUDA)};
  const int64_t n = gate.numel();
  with_type(gate.dtype, [&](auto zero) {
    using T = decltype(zero);
    kern::SwigluArgs<T> a;
    a.gate = gate.ptr<T>(), a.up = up.ptr<T>(), a.dy = dy.ptr<T>(), a.dgate = r.dgate.ptr<T>(), a.dup = r.dup.ptr<T>(), a.n = n;
    launch("swigluBackward", "swiglu_backward_kernel", swiglu_backward_kernel<T>, to_dim3(Elementwise::grid(n)), to_dim3(Elementwise::block()), 0, a);
  });
  return r;
}

}  // namespace mt::cuda
