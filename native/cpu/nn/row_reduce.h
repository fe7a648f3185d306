// Reductions over a row shared by the nn ops (softmax in attention and cross-entropy, RMSNorm):
// written as eight interleaved lanes so they vectorize on the AVX2 floor without -ffast-math,
// in a fixed order so a result does not depend on the thread count or the run.
#pragma once
#include <algorithm>
#include <cstdint>
#include <limits>

#include "../../core/fast_math.h"

namespace mt::cpu::nn {

// Max of x[0, n): eight running maxima, so the loop vectorizes (max is exact in any order).
inline float row_max(const float* x, int64_t n) {
  float m[8];
  for (float& v : m) v = -std::numeric_limits<float>::infinity();
  int64_t j = 0;
  for (; j + 8 <= n; j += 8)
    for (int l = 0; l < 8; ++l) m[l] = std::max(m[l], x[j + l]);
  float r = -std::numeric_limits<float>::infinity();
  for (float v : m) r = std::max(r, v);
  for (; j < n; ++j) r = std::max(r, x[j]);
  return r;
}

// x[j] = exp(x[j] - shift) for j in [0, n); returns their sum, added in eight interleaved
// partial sums (a fixed order, so the loop vectorizes and the result is the same on every run).
inline float exp_shift_sum(float* x, int64_t n, float shift) {
  float part[8] = {};
  int64_t j = 0;
  for (; j + 8 <= n; j += 8)
    for (int l = 0; l < 8; ++l) {
      const float e = fast_exp(x[j + l] - shift);
      x[j + l] = e;
      part[l] += e;
    }
  float tail = 0.f;
  for (; j < n; ++j) tail += (x[j] = fast_exp(x[j] - shift));
  return ((part[0] + part[1]) + (part[2] + part[3])) + ((part[4] + part[5]) + (part[6] + part[7])) + tail;
}

// Sum over j of a[j] * b[j] * c[j], products and sums in double.
inline double dot_f64(const float* a, const float* b, const float* c, int64_t n) {
  double part[8] = {};
  int64_t j = 0;
  for (; j + 8 <= n; j += 8)
    for (int l = 0; l < 8; ++l) part[l] += static_cast<double>(a[j + l]) * b[j + l] * c[j + l];
  double tail = 0;
  for (; j < n; ++j) tail += static_cast<double>(a[j]) * b[j] * c[j];
  return ((part[0] + part[1]) + (part[2] + part[3])) + ((part[4] + part[5]) + (part[6] + part[7])) + tail;
}

// Sum over j of a[j] * b[j] in double.
inline double dot_f64(const float* a, const float* b, int64_t n) {
  double part[8] = {};
  int64_t j = 0;
  for (; j + 8 <= n; j += 8)
    for (int l = 0; l < 8; ++l) part[l] += static_cast<double>(a[j + l]) * b[j + l];
  double tail = 0;
  for (; j < n; ++j) tail += static_cast<double>(a[j]) * b[j];
  return ((part[0] + part[1]) + (part[2] + part[3])) + ((part[4] + part[5]) + (part[6] + part[7])) + tail;
}

// Sum over j of a[j]^2 in double.
inline double sum_squares_f64(const float* a, int64_t n) { return dot_f64(a, a, n); }

}  // namespace mt::cpu::nn
