// Rotary position embedding over the last r = rope_dim elements of the last dimension d of
// x [T,H,d] (the first d - r copied): pair i (i < r/2) rotates by pos * theta^(-2i/r), pairs
// (x[2i], x[2i+1]) when interleaved, else (x[i], x[i+r/2]); sign -1 rotates back (the backward).
// One thread per output element. The cos and sin of each token's angles come from a table made on
// the host (the positions live there), in double rounded to float as on the CPU: no device
// trigonometry (whose slow argument reduction would need local memory).
#pragma once

#include <vector>

#include "simt_common.cuh"

namespace mt::kern {

template <class T>
struct RopeArgs {
  const T* x = nullptr;
  T* out = nullptr;
  const float* table = nullptr;  // rope_table: cos [T, r/2], then sin [T, r/2]
  int64_t tokens = 0, heads = 0, d = 0, r = 0;
  bool interleave = true;
};

// cos and sign * sin of positions[t] * theta^(-2i/r) for i < r/2.
inline std::vector<float> rope_table(const std::vector<int32_t>& positions, int64_t r, double theta, double sign) {
  const int64_t half = r / 2, T = int64_t(positions.size());
  std::vector<float> table(size_t(2 * T * half));
  for (int64_t i = 0; i < half; ++i) {
    const double inv_freq = std::pow(theta, -2.0 * double(i) / double(r));
    for (int64_t t = 0; t < T; ++t) {
      const double angle = double(positions[size_t(t)]) * inv_freq;
      table[size_t(t * half + i)] = float(std::cos(angle));
      table[size_t((T + t) * half + i)] = float(sign * std::sin(angle));
    }
  }
  return table;
}

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
    const float c = a.table[t * half + i], s = a.table[(a.tokens + t) * half + i];
    const float xa = to_f32(a.x[row + ia]), xb = to_f32(a.x[row + ib]);
    a.out[idx] = from_f32<T>(is_a ? xa * c - xb * s : xa * s + xb * c);
  }
}

}  // namespace mt::kern
