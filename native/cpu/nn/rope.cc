// Rotary position embedding over the last r = rope_dim elements of the last dimension d of
// x [T,H,d] (the first d - r are copied: MLA's query heads [nope | rope] in one pass): pair i
// (i < r/2) rotates by pos * theta^(-2i/r). interleave pairs (x[2i], x[2i+1]) (DeepSeek-V3,
// GPT-J); otherwise (x[i], x[i+r/2]) (rotate-half, Llama), counted from the rotated part's start.
// inverse rotates by -angle: the backward.
#include <algorithm>
#include <cmath>

#include "../nn_ops.h"

namespace mt::cpu {

using namespace nn;

Tensor rope(const Tensor& x, const std::vector<int32_t>& positions, const RopeOptions& options) {
  const int64_t T = x.shape[0], H = x.shape[1], d = x.shape[2];
  const int64_t r = options.rope_dim > 0 ? options.rope_dim : d, half = r / 2, first = d - r;
  Tensor out = empty_tensor(x.shape, x.dtype);
  std::vector<double> inv_freq(static_cast<size_t>(half));
  for (int64_t i = 0; i < half; ++i) inv_freq[i] = std::pow(options.theta, -2.0 * static_cast<double>(i) / static_cast<double>(r));
  const double sign = options.inverse ? -1.0 : 1.0;
  // cos and sin of pos * inv_freq[i], once per distinct position when the positions are small (the
  // usual 0..S-1 repeated for every sequence), else once per token.
  int32_t max_pos = 0;
  for (const int32_t p : positions) max_pos = std::max(max_pos, p);
  const bool by_position = static_cast<int64_t>(max_pos) < T;
  const int64_t keys = by_position ? static_cast<int64_t>(max_pos) + 1 : T;
  std::vector<float> cs(static_cast<size_t>(keys * half)), sn(static_cast<size_t>(keys * half));
  parallel_chunks(keys, grain_for(16 * half), [&](int64_t k0, int64_t k1) {
    for (int64_t key = k0; key < k1; ++key) {
      const double pos = by_position ? static_cast<double>(key) : static_cast<double>(positions[key]);
      for (int64_t i = 0; i < half; ++i) {
        const double angle = pos * inv_freq[i];
        cs[key * half + i] = static_cast<float>(std::cos(angle));
        sn[key * half + i] = static_cast<float>(sign * std::sin(angle));
      }
    }
  });
  parallel_chunks(T, grain_for(H * d), [&](int64_t t0, int64_t t1) {
    std::vector<float> row(static_cast<size_t>(d));
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t key = by_position ? positions[t] : t;
      const float* c = cs.data() + key * half;
      const float* sv = sn.data() + key * half;
      for (int64_t h = 0; h < H; ++h) {
        const int64_t off = (t * H + h) * d;
        load_f32(x.data(), x.dtype, off, d, row.data());
        for (int64_t i = 0; i < half; ++i) {
          const int64_t ia = first + (options.interleave ? 2 * i : i);
          const int64_t ib = first + (options.interleave ? 2 * i + 1 : i + half);
          const float a = row[ia], b = row[ib];
          row[ia] = a * c[i] - b * sv[i];
          row[ib] = a * sv[i] + b * c[i];
        }
        store_f32(out.data(), out.dtype, off, d, row.data());
      }
    }
  });
  return out;
}

}  // namespace mt::cpu
