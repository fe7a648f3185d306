// RMSNorm's row kernels with AVX-512 (+BF16), 16 lanes at a time (rms_norm.cc calls them when
// the ISA path allows). Sums run in 8 double lanes, then a fixed-order reduction.
#include <cmath>

#include "nn_avx512.h"
#include "vec512.h"

namespace mt::cpu::avx512 {

namespace {

__m512d low8(__m512 v) { return _mm512_cvtps_pd(_mm512_castps512_ps256(v)); }
__m512d high8(__m512 v) { return _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1))); }

// acc (8 doubles) += a * b over the 16 lanes, in double.
__m512d fma_wide(__m512 a, __m512 b, __m512d acc) { return _mm512_fmadd_pd(high8(a), high8(b), _mm512_fmadd_pd(low8(a), low8(b), acc)); }

// acc += (a * b) * c over the 16 lanes, products in double.
__m512d fma_wide3(__m512 a, __m512 b, __m512 c, __m512d acc) {
  acc = _mm512_fmadd_pd(_mm512_mul_pd(low8(a), low8(b)), low8(c), acc);
  return _mm512_fmadd_pd(_mm512_mul_pd(high8(a), high8(b)), high8(c), acc);
}

}  // namespace

float rms_norm_row(const void* x, DType dt, int64_t offset, int64_t D, const float* w, double eps, void* y) {
  __m512d ss = _mm512_setzero_pd();
  for (int64_t j = 0; j < D; j += 16) {
    const __m512 v = load16(x, dt, offset + j, lanes(D - j));
    ss = fma_wide(v, v, ss);
  }
  const float rs = static_cast<float>(1.0 / std::sqrt(_mm512_reduce_add_pd(ss) / static_cast<double>(D) + eps));
  const __m512 r = _mm512_set1_ps(rs);
  for (int64_t j = 0; j < D; j += 16) {
    const __mmask16 k = lanes(D - j);
    store16(y, dt, offset + j, k, _mm512_mul_ps(_mm512_mul_ps(load16(x, dt, offset + j, k), r), _mm512_maskz_loadu_ps(k, w + j)));
  }
  return rs;
}

void rms_norm_backward_row(const void* dy, const void* x, DType dt, int64_t offset, int64_t D, const float* w, float rstd, void* dx,
                           double* dweight) {
  __m512d dot = _mm512_setzero_pd();
  const __m512d rw = _mm512_set1_pd(rstd);
  for (int64_t j = 0; j < D; j += 16) {
    const __mmask16 k = lanes(D - j);
    const __m512 g = load16(dy, dt, offset + j, k), xv = load16(x, dt, offset + j, k);
    dot = fma_wide3(g, _mm512_maskz_loadu_ps(k, w + j), xv, dot);
    // dweight[j] += (dy * x) * rstd in double, as the scalar path
    const __mmask8 lo = static_cast<__mmask8>(k & 0xff), hi = static_cast<__mmask8>(k >> 8);
    _mm512_mask_storeu_pd(dweight + j, lo, _mm512_add_pd(_mm512_maskz_loadu_pd(lo, dweight + j), _mm512_mul_pd(_mm512_mul_pd(low8(g), low8(xv)), rw)));
    _mm512_mask_storeu_pd(dweight + j + 8, hi, _mm512_add_pd(_mm512_maskz_loadu_pd(hi, dweight + j + 8), _mm512_mul_pd(_mm512_mul_pd(high8(g), high8(xv)), rw)));
  }
  const double r = rstd, c = r * r * r * _mm512_reduce_add_pd(dot) / static_cast<double>(D);
  if (dt == DType::BF16) {  // float arithmetic leaves 16 bits for the cancellation of the two terms
    const __m512 rf = _mm512_set1_ps(static_cast<float>(r)), cf = _mm512_set1_ps(static_cast<float>(c));
    for (int64_t j = 0; j < D; j += 16) {
      const __mmask16 k = lanes(D - j);
      const __m512 gw = _mm512_mul_ps(load16(dy, dt, offset + j, k), _mm512_maskz_loadu_ps(k, w + j));
      store16(dx, dt, offset + j, k, _mm512_fnmadd_ps(cf, load16(x, dt, offset + j, k), _mm512_mul_ps(rf, gw)));
    }
    return;
  }
  const __m512d rd = _mm512_set1_pd(r), cd = _mm512_set1_pd(c);
  const float* g = static_cast<const float*>(dy) + offset;
  const float* xs = static_cast<const float*>(x) + offset;
  float* out = static_cast<float*>(dx) + offset;
  for (int64_t j = 0; j < D; j += 8) {
    const __mmask8 k = static_cast<__mmask8>(lanes(D - j) & 0xff);
    const __m512d gw = _mm512_mul_pd(_mm512_cvtps_pd(_mm256_maskz_loadu_ps(k, g + j)), _mm512_cvtps_pd(_mm256_maskz_loadu_ps(k, w + j)));
    const __m512d v = _mm512_fnmadd_pd(cd, _mm512_cvtps_pd(_mm256_maskz_loadu_ps(k, xs + j)), _mm512_mul_pd(rd, gw));
    _mm256_mask_storeu_ps(out + j, k, _mm512_cvtpd_ps(v));
  }
}

}  // namespace mt::cpu::avx512
