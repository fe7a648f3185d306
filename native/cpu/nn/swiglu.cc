// SwiGLU: y = silu(gate) * up, elementwise over tensors of any shape.
#include <cmath>

#include "../../core/fast_math.h"
#include "../nn_ops.h"
#include "nn_avx512.h"

namespace mt::cpu {

using namespace nn;

namespace {
constexpr int64_t kChunk = 8192;
inline float sigmoid(float g) { return 1.0f / (1.0f + fast_exp(-g)); }
}  // namespace

// gate, up and dy share shape and dtype (checked by the binding): one pass per element.
Tensor swiglu(const Tensor& gate, const Tensor& up) {
  Tensor y = empty_tensor(gate.shape, gate.dtype);
  if (avx512_rows()) {
    parallel_chunks(gate.numel(), kChunk, [&](int64_t i0, int64_t i1) { avx512::swiglu(gate.data(), up.data(), y.data(), gate.dtype, i0, i1); });
    return y;
  }
  with_element_type(gate.dtype, [&](auto zero) {
    using T = decltype(zero);
    const T* g = static_cast<const T*>(gate.data());
    const T* u = static_cast<const T*>(up.data());
    T* out = static_cast<T*>(y.data());
    parallel_chunks(gate.numel(), kChunk, [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; ++i) {
        const float gi = widen(g[i]);
        out[i] = narrow<T>(gi * sigmoid(gi) * widen(u[i]));
      }
    });
  });
  return y;
}

// dgate = dy * up * sig * (1 + gate * (1 - sig)), dup = dy * gate * sig.
SwigluGrads swiglu_backward(const Tensor& dy, const Tensor& gate, const Tensor& up) {
  SwigluGrads r{empty_tensor(gate.shape, gate.dtype), empty_tensor(gate.shape, gate.dtype)};
  if (avx512_rows()) {
    parallel_chunks(gate.numel(), kChunk, [&](int64_t i0, int64_t i1) {
      avx512::swiglu_backward(dy.data(), gate.data(), up.data(), r.dgate.data(), r.dup.data(), gate.dtype, i0, i1);
    });
    return r;
  }
  with_element_type(gate.dtype, [&](auto zero) {
    using T = decltype(zero);
    const T* d = static_cast<const T*>(dy.data());
    const T* g = static_cast<const T*>(gate.data());
    const T* u = static_cast<const T*>(up.data());
    T* dg = static_cast<T*>(r.dgate.data());
    T* du = static_cast<T*>(r.dup.data());
    parallel_chunks(gate.numel(), kChunk, [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; ++i) {
        const float di = widen(d[i]), gi = widen(g[i]), ui = widen(u[i]);
        const float s = sigmoid(gi);
        dg[i] = narrow<T>(di * ui * s * (1.0f + gi * (1.0f - s)));
        du[i] = narrow<T>(di * gi * s);
      }
    });
  });
  return r;
}

}  // namespace mt::cpu
