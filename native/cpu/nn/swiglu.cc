// SwiGLU: y = silu(gate) * up, elementwise over tensors of any shape.
#include <cmath>

#include "../../core/fast_math.h"
#include "../nn_ops.h"

namespace mt::cpu {

using namespace nn;

namespace {
constexpr int64_t kChunk = 8192;
inline float sigmoid(float g) { return 1.0f / (1.0f + fast_exp(-g)); }
}  // namespace

Tensor swiglu(const Tensor& gate, const Tensor& up) {
  const int64_t n = gate.numel();
  Tensor y = empty_tensor(gate.shape, gate.dtype);
  parallel_chunks(n, kChunk, [&](int64_t i0, int64_t i1) {
    const int64_t m = i1 - i0;
    std::vector<float> g(static_cast<size_t>(m)), u(static_cast<size_t>(m));
    load_f32(gate.data(), gate.dtype, i0, m, g.data());
    load_f32(up.data(), up.dtype, i0, m, u.data());
    for (int64_t i = 0; i < m; ++i) g[i] = g[i] * sigmoid(g[i]) * u[i];
    store_f32(y.data(), y.dtype, i0, m, g.data());
  });
  return y;
}

// dgate = dy * up * sig * (1 + gate * (1 - sig)), dup = dy * gate * sig.
SwigluGrads swiglu_backward(const Tensor& dy, const Tensor& gate, const Tensor& up) {
  const int64_t n = gate.numel();
  SwigluGrads r{empty_tensor(gate.shape, gate.dtype), empty_tensor(gate.shape, gate.dtype)};
  parallel_chunks(n, kChunk, [&](int64_t i0, int64_t i1) {
    const int64_t m = i1 - i0;
    std::vector<float> d(static_cast<size_t>(m)), g(static_cast<size_t>(m)), u(static_cast<size_t>(m));
    load_f32(dy.data(), dy.dtype, i0, m, d.data());
    load_f32(gate.data(), gate.dtype, i0, m, g.data());
    load_f32(up.data(), up.dtype, i0, m, u.data());
    for (int64_t i = 0; i < m; ++i) {
      const float s = sigmoid(g[i]);
      const float dg = d[i] * u[i] * s * (1.0f + g[i] * (1.0f - s));
      u[i] = d[i] * g[i] * s;
      g[i] = dg;
    }
    store_f32(r.dgate.data(), r.dgate.dtype, i0, m, g.data());
    store_f32(r.dup.data(), r.dup.dtype, i0, m, u.data());
  });
  return r;
}

}  // namespace mt::cpu
