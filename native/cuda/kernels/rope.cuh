// Rotary position embedding over the last r = rope_dim elements of the last dimension d of
// x [T,H,d] (the first d - r copied): pair i (i < r/2) rotates by pos * theta^(-2i/r), pairs
// (x[2i], x[2i+1]) when interleaved, else (x[i], x[i+r/2]); sign -1 rotates back (the backward).
// One thread per output element; the angle's cos and sin in double, rounded to float, as on the CPU.
#pragma once

#include "simt_common.cuh"

namespace mt::kern {

template <class T>
struct RopeArgs {
  const T* x = nullptr;
  T* out = nullptr;
  const int32_t* positions = nullptr;  // [T]
  int64_t tokens = 0, heads = 0, d = 0, r = 0;
  double theta = 10000, sign = 1;
  bool interleave = true;
};

template <class T>
MT_DEVICE void rope_body(const RopeArgs<T>& a) {
  const int64_t n = a.tokens * a.heads * a.d, half = a.r / 2, first = a.d - a.r;
  for (int64_t idx = global_index(); idx < n; idx += grid_stride()) {
    const int64_t e = idx % a.d, row = idx - e;
    if (e < first) {
      a.out[idx] = a.x[idx];
      continue;
    }
    const int64_t k = e - first;
    const int64_t i = a.interleave ? k / 2 : (k < half ? k : k - half);
    const bool is_a = a.interleave ? (k % 2 == 0) : (k < half);
    const int64_t ia = first + (a.interleave ? 2 * i : i), ib = first + (a.interleave ? 2 * i + 1 : i + half);
    const int64_t t = idx / (a.heads * a.d);
    const double angle = double(a.positions[t]) * pow(a.theta, -2.0 * double(i) / double(a.r));
    const float c = float(cos(angle)), s = float(a.sign * sin(angle));
    const float xa = to_f32(a.x[row + ia]), xb = to_f32(a.x[row + ib]);
    a.out[idx] = from_f32<T>(is_a ? xa * c - xb * s : xa * s + xb * c);
  }
}

}  // namespace mt::kern
