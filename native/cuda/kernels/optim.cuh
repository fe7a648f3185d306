// Optimizer updates in place on f32 master tensors (grad / update f32 or bf16), elementwise, with
// the constants computed on the host as the CPU kernels do (native/cpu/nn/optim_update.cc).
#pragma once

#include "simt_common.cuh"

namespace mt::kern {

// torch.optim.AdamW: p *= decay; m = b1 m + c1 g; v = b2 v + c2 g^2;
// p -= lr (m inv_bc1) / (sqrt(v inv_bc2) + eps).
template <class TG>
struct AdamWArgs {
  float *p = nullptr, *m = nullptr, *v = nullptr;
  const TG* g = nullptr;
  int64_t n = 0;
  float decay = 1, b1 = 0, b2 = 0, c1 = 0, c2 = 0, inv_bc1 = 1, inv_bc2 = 1, lr = 0, eps = 0;
};

template <class TG>
MT_DEVICE void adamw_body(const AdamWArgs<TG>& a) {
  for (int64_t i = global_index(); i < a.n; i += grid_stride()) {
    const float g = to_f32(a.g[i]);
    const float m = a.b1 * a.m[i] + a.c1 * g;
    const float v = a.b2 * a.v[i] + a.c2 * g * g;
    a.m[i] = m;
    a.v[i] = v;
    const float denom = sqrtf(v * a.inv_bc2) + a.eps;
    a.p[i] = a.p[i] * a.decay - a.lr * (m * a.inv_bc1) / denom;
  }
}

// m = mu m + g (in place); u = g + mu m (nesterov) or m.
template <class TG>
struct MuonMomentumArgs {
  float *m = nullptr, *u = nullptr;
  const TG* g = nullptr;
  int64_t n = 0;
  float mu = 0;
  bool nesterov = true;
};

template <class TG>
MT_DEVICE void muon_momentum_body(const MuonMomentumArgs<TG>& a) {
  for (int64_t i = global_index(); i < a.n; i += grid_stride()) {
    const float g = to_f32(a.g[i]);
    const float m = a.mu * a.m[i] + g;
    a.m[i] = m;
    a.u[i] = a.nesterov ? g + a.mu * m : m;
  }
}

// p = p decay - step update.
template <class TU>
struct MuonApplyArgs {
  float* p = nullptr;
  const TU* u = nullptr;
  int64_t n = 0;
  float decay = 1, step = 0;
};

template <class TU>
MT_DEVICE void muon_apply_body(const MuonApplyArgs<TU>& a) {
  for (int64_t i = global_index(); i < a.n; i += grid_stride()) a.p[i] = a.p[i] * a.decay - a.step * to_f32(a.u[i]);
}

}  // namespace mt::kern
