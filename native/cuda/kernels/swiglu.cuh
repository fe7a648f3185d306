// SwiGLU and its backward, elementwise: y = silu(gate) * up;
// dgate = dy * up * sig * (1 + gate (1 - sig)), dup = dy * gate * sig.
#pragma once

#include "simt_common.cuh"

namespace mt::kern {

template <class T>
struct SwigluArgs {
  const T *gate = nullptr, *up = nullptr, *dy = nullptr;  // dy: the backward only
  T *y = nullptr, *dgate = nullptr, *dup = nullptr;       // y: forward; dgate, dup: backward
  int64_t n = 0;
};

template <class T>
MT_DEVICE void swiglu_body(const SwigluArgs<T>& a) {
  for (int64_t i = global_index(); i < a.n; i += grid_stride()) {
    const float g = to_f32(a.gate[i]);
    a.y[i] = from_f32<T>(g * sigmoid(g) * to_f32(a.up[i]));
  }
}

template <class T>
MT_DEVICE void swiglu_backward_body(const SwigluArgs<T>& a) {
  for (int64_t i = global_index(); i < a.n; i += grid_stride()) {
    const float d = to_f32(a.dy[i]), g = to_f32(a.gate[i]), u = to_f32(a.up[i]);
    const float s = sigmoid(g);
    a.dgate[i] = from_f32<T>(d * u * s * (1.0f + g * (1.0f - s)));
    a.dup[i] = from_f32<T>(d * g * s);
  }
}

}  // namespace mt::kern
