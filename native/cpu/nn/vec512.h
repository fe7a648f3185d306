// 16-lane helpers for the AVX-512 nn kernels. Include only from files built with the
// avx512bf16 flags (*_avx512bf16.cc): these inline functions must never be instantiated in
// shared code (scripts/ci/check-isa-leaks.sh).
#pragma once
#include <immintrin.h>

#include <cstdint>

#include "../../core/dtype.h"

namespace mt::cpu::avx512 {

// fast_exp (core/fast_math.h) on 16 lanes: the same polynomial and 0 / inf / NaN cases.
inline __m512 exp16(__m512 x) {
  const __m512 lo = _mm512_set1_ps(-87.3365f), hi = _mm512_set1_ps(88.3762f);
  const __m512 magic = _mm512_set1_ps(12582912.f);
  const __m512 clamped = _mm512_min_ps(_mm512_max_ps(x, lo), hi);  // NaN becomes lo here
  const __m512 n = _mm512_sub_ps(_mm512_fmadd_ps(clamped, _mm512_set1_ps(1.44269504088896341f), magic), magic);
  const __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), clamped));
  __m512 p = _mm512_set1_ps(1.9875691500e-4f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
  p = _mm512_fmadd_ps(_mm512_mul_ps(p, r), r, _mm512_add_ps(r, _mm512_set1_ps(1.f)));
  __m512 y = _mm512_scalef_ps(p, n);
  y = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, lo, _CMP_LT_OQ), y, _mm512_setzero_ps());
  y = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, hi, _CMP_GT_OQ), y, _mm512_set1_ps(__builtin_inff()));
  return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q), y, x);
}

// Lanes [0, left) of a 16-lane step (none when left <= 0).
inline __mmask16 lanes(int64_t left) {
  if (left <= 0) return 0;
  return left >= 16 ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << left) - 1);
}

// Elements i .. i+15 (masked) of a float or bf16 buffer as floats; masked-off lanes read 0.
inline __m512 load16(const void* base, DType dt, int64_t i, __mmask16 m) {
  if (dt == DType::F32) return _mm512_maskz_loadu_ps(m, static_cast<const float*>(base) + i);
  const __m256i h = _mm256_maskz_loadu_epi16(m, static_cast<const bf16_t*>(base) + i);
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

// Stores the masked lanes; bf16 rounded to nearest even by VCVTNEPS2BF16.
inline void store16(void* base, DType dt, int64_t i, __mmask16 m, __m512 v) {
  if (dt == DType::F32) _mm512_mask_storeu_ps(static_cast<float*>(base) + i, m, v);
  else _mm256_mask_storeu_epi16(static_cast<bf16_t*>(base) + i, m, reinterpret_cast<__m256i>(_mm512_cvtneps_pbh(v)));
}

}  // namespace mt::cpu::avx512
