// exp for float without libm calls or branches, so loops over it vectorize (glibc's expf does
// not without -ffast-math; the selects need -fno-trapping-math, set for the whole build). Range reduction x = n·ln2 + r with |r| <= ln2/2 (ln2 split in two
// parts) and a degree-6 polynomial for e^r: relative error below 1e-7 over [-87.3, 88.3];
// exp(x) is 0 below -87.3 (flushed below FLT_MIN), +inf above 88.37 (a little early: the true
// overflow is at 88.72), and NaN stays NaN.
#pragma once
#include <cstdint>
#include <cstring>

namespace mt {

inline float fast_exp(float x) {
  // Comparisons with a bound give the bound for NaN, so `clamped` is finite for any x.
  float clamped = x > -87.3365f ? x : -87.3365f;
  clamped = clamped < 88.3762f ? clamped : 88.3762f;
  // Round to nearest even by adding and removing 1.5·2^23 (exact for |v| < 2^22; here |v| <= 128):
  // plain arithmetic, where __builtin_roundevenf keeps GCC 12 from vectorizing.
  const float n = (clamped * 1.44269504088896341f + 12582912.f) - 12582912.f;  // in [-126, 127]
  const float r = (clamped - n * 0.693359375f) - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const uint32_t bits = static_cast<uint32_t>(static_cast<int32_t>(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, 4);
  float y = p * scale;
  y = x < -87.3365f ? 0.f : y;
  y = x > 88.3762f ? __builtin_inff() : y;
  return x != x ? x : y;
}

}  // namespace mt
