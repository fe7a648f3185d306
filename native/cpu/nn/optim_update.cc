// Optimizer updates, in place on f32 master tensors. grad / update may be f32 or bf16.
#include <cmath>

#include "../nn_ops.h"

namespace mt::cpu {

using namespace nn;

namespace {
constexpr int64_t kChunk = 16384;
}

// torch.optim.AdamW: p *= 1 - lr*wd; m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
// p -= lr * (m / (1-b1^step)) / (sqrt(v / (1-b2^step)) + eps).
void adamw_step(const Tensor& param, const Tensor& grad, const Tensor& m, const Tensor& v, const AdamWOptions& o) {
  const double bc1 = 1.0 - std::pow(o.beta1, static_cast<double>(o.step));
  const double bc2 = 1.0 - std::pow(o.beta2, static_cast<double>(o.step));
  const float decay = static_cast<float>(1.0 - o.lr * o.weight_decay);
  const float b1 = static_cast<float>(o.beta1), b2 = static_cast<float>(o.beta2);
  const float c1 = static_cast<float>(1.0 - o.beta1), c2 = static_cast<float>(1.0 - o.beta2);
  const float inv_bc1 = static_cast<float>(1.0 / bc1), inv_bc2 = static_cast<float>(1.0 / bc2);
  const float lr = static_cast<float>(o.lr), eps = static_cast<float>(o.eps);
  float* p = f32_mut(param);
  float* mm = f32_mut(m);
  float* vv = f32_mut(v);
  parallel_chunks(param.numel(), kChunk, [&](int64_t i0, int64_t i1) {
    const int64_t n = i1 - i0;
    std::vector<float> g(static_cast<size_t>(n));
    load_f32(grad.data(), grad.dtype, i0, n, g.data());
    for (int64_t j = 0; j < n; ++j) {
      const int64_t i = i0 + j;
      const float gi = g[j];
      mm[i] = b1 * mm[i] + c1 * gi;
      vv[i] = b2 * vv[i] + c2 * gi * gi;
      const float denom = std::sqrt(vv[i] * inv_bc2) + eps;
      p[i] = p[i] * decay - lr * (mm[i] * inv_bc1) / denom;
    }
  });
}

// m = mu m + g (in place); returns g + mu m (nesterov) or a copy of m, in a new buffer.
Tensor muon_momentum(const Tensor& m, const Tensor& grad, const MuonMomentumOptions& o) {
  Tensor u = empty_tensor(m.shape, DType::F32);
  const float mu = static_cast<float>(o.momentum);
  float* mm = f32_mut(m);
  float* uu = f32_mut(u);
  parallel_chunks(m.numel(), kChunk, [&](int64_t i0, int64_t i1) {
    const int64_t n = i1 - i0;
    std::vector<float> g(static_cast<size_t>(n));
    load_f32(grad.data(), grad.dtype, i0, n, g.data());
    for (int64_t j = 0; j < n; ++j) {
      const int64_t i = i0 + j;
      mm[i] = mu * mm[i] + g[j];
      uu[i] = o.nesterov ? g[j] + mu * mm[i] : mm[i];
    }
  });
  return u;
}

// p = p (1 - lr wd) - lr scale update.
void muon_apply(const Tensor& param, const Tensor& update, const MuonApplyOptions& o) {
  const float decay = static_cast<float>(1.0 - o.lr * o.weight_decay);
  const float step = static_cast<float>(o.lr * o.scale);
  float* p = f32_mut(param);
  parallel_chunks(param.numel(), kChunk, [&](int64_t i0, int64_t i1) {
    const int64_t n = i1 - i0;
    std::vector<float> u(static_cast<size_t>(n));
    load_f32(update.data(), update.dtype, i0, n, u.data());
    for (int64_t j = 0; j < n; ++j) p[i0 + j] = p[i0 + j] * decay - step * u[j];
  });
}

}  // namespace mt::cpu
