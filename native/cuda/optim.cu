// Optimizer updates on the GPU (bodies in kernels/optim.cuh), constants as in
// native/cpu/nn/optim_update.cc.
#include <cmath>

#include "../op_types.h"
#include "kernels/optim.cuh"
#include "launch.h"

namespace mt::cuda {
namespace {

using kern::Elementwise;

template <class TG>
__global__ void __launch_bounds__(Elementwise::kThreads) adamw_kernel(kern::AdamWArgs<TG> a) { kern::adamw_body(a); }
template <class TG>
__global__ void __launch_bounds__(Elementwise::kThreads) muon_momentum_kernel(kern::MuonMomentumArgs<TG> a) { kern::muon_momentum_body(a); }
template <class TU>
__global__ void __launch_bounds__(Elementwise::kThreads) muon_apply_kernel(kern::MuonApplyArgs<TU> a) { kern::muon_apply_body(a); }

}  // namespace

void adamw_step(const Tensor& param, const Tensor& grad, const Tensor& m, const Tensor& v, const AdamWOptions& o) {
  const double bc1 = 1.0 - std::pow(o.beta1, double(o.step)), bc2 = 1.0 - std::pow(o.beta2, double(o.step));
  const int64_t n = param.numel();
  with_type(grad.dtype, [&](auto zero) {
    using TG = decltype(zero);
    kern::AdamWArgs<TG> a;
    a.p = param.ptr<float>(), a.m = m.ptr<float>(), a.v = v.ptr<float>(), a.g = grad.ptr<TG>(), a.n = n;
    a.decay = float(1.0 - o.lr * o.weight_decay), a.b1 = float(o.beta1), a.b2 = float(o.beta2);
    a.c1 = float(1.0 - o.beta1), a.c2 = float(1.0 - o.beta2), a.inv_bc1 = float(1.0 / bc1), a.inv_bc2 = float(1.0 / bc2);
    a.lr = float(o.lr), a.eps = float(o.eps);
    launch("adamwStep", "adamw_kernel", adamw_kernel<TG>, to_dim3(Elementwise::grid(n)), to_dim3(Elementwise::block()), 0, a);
  });
}

Tensor muon_momentum(const Tensor& m, const Tensor& grad, const MuonMomentumOptions& o) {
  Tensor u = empty_tensor(m.shape, DType::F32, Device::CUDA);
  const int64_t n = m.numel();
  with_type(grad.dtype, [&](auto zero) {
    using TG = decltype(zero);
    kern::MuonMomentumArgs<TG> a;
    a.m = m.ptr<float>(), a.u = u.ptr<float>(), a.g = grad.ptr<TG>(), a.n = n, a.mu = float(o.momentum), a.nesterov = o.nesterov;
    launch("muonMomentum", "muon_momentum_kernel", muon_momentum_kernel<TG>, to_dim3(Elementwise::grid(n)), to_dim3(Elementwise::block()), 0, a);
  });
  return u;
}

void muon_apply(const Tensor& param, const Tensor& update, const MuonApplyOptions& o) {
  const int64_t n = param.numel();
  with_type(update.dtype, [&](auto zero) {
    using TU = decltype(zero);
    kern::MuonApplyArgs<TU> a;
    a.p = param.ptr<float>(), a.u = update.ptr<TU>(), a.n = n, a.decay = float(1.0 - o.lr * o.weight_decay), a.step = float(o.lr * o.scale);
    launch("muonApply", "muon_apply_kernel", muon_apply_kernel<TU>, to_dim3(Elementwise::grid(n)), to_dim3(Elementwise::block()), 0, a);
  });
}

}  // namespace mt::cuda
