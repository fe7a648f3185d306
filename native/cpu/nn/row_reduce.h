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

// Sum over j in [0, n) of term(j), added in eight interleaved partial sums of type T and then
// pairwise: a fixed order, so the loop vectorizes and the result is the same on every run.
template <typename T, typename Term>
inline T lane_sum(int64_t n, Term term) {
  T part[8] = {};
  int64_t j = 0;
  for (; j + 8 <= n; j += 8)
    for (int l = 0; l < 8; ++l) part[l] += term(j + l);
  T tail = 0;
  for (; j < n; ++j) tail += term(j);
  return ((part[0] + part[1]) + (part[2] + part[3])) + ((part[4] + part[5]) + (part[6] + part[7])) + tail;
}

// x[j] = exp(x[j] - shift) for j in [0, n); returns their sum.
inline float exp_shift_sum(float* x, int64_t n, float shift) {
  return lane_sum<float>(n, [=](int64_t j) { return x[j] = fast_exp(x[j] - shift); });
}

// Sum over j of a[j] * b[j] * c[j], products and sums in double.
inline double dot_f64(const float* a, const float* b, const float* c, int64_t n) {
  return lane_sum<double>(n, [=](int64_t j) { return static_cast<double>(a[j]) * b[j] * c[j]; });
}

// Sum over j of a[j] * b[j] in double.
inline double dot_f64(const float* a, const float* b, int64_t n) {
  return lane_sum<double>(n, [=](int64_t j) { return static_cast<double>(a[j]) * b[j]; });
}

// Sum over j of a[j]^2 in double.
inline double sum_squares_f64(const float* a, int64_t n) { return dot_f64(a, a, n); }

}  // namespace mt::cpu::nn
