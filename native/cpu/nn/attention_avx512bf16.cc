// Attention's softmax rows with AVX-512 (+BF16), 16 lanes at a time (attention.cc calls it when
// the ISA path allows).
#include <cmath>
#include <limits>

#include "nn_avx512.h"
#include "vec512.h"

namespace mt::cpu::avx512 {

float row_softmax(float* s, int64_t lim, int64_t S, float scale, void* p, DType dt, int64_t offset) {
  const __m512 sc = _mm512_set1_ps(scale);
  __m512 m = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
  for (int64_t j = 0; j < lim; j += 16) {
    const __mmask16 k = lanes(lim - j);
    const __m512 v = _mm512_mul_ps(sc, _mm512_maskz_loadu_ps(k, s + j));
    _mm512_mask_storeu_ps(s + j, k, v);
    m = _mm512_mask_max_ps(m, k, m, v);
  }
  const __m512 mx = _mm512_set1_ps(_mm512_reduce_max_ps(m));
  __m512 sum = _mm512_setzero_ps();
  for (int64_t j = 0; j < lim; j += 16) {
    const __mmask16 k = lanes(lim - j);
    const __m512 e = _mm512_maskz_mov_ps(k, exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, s + j), mx)));
    _mm512_mask_storeu_ps(s + j, k, e);
    sum = _mm512_add_ps(sum, e);
  }
  const float total = _mm512_reduce_add_ps(sum);
  const __m512 inv = _mm512_set1_ps(1.f / total);
  for (int64_t j = 0; j < S; j += 16) {
    const __mmask16 k = lanes(S - j);
    const __mmask16 live = lanes(lim - j);  // lanes past lim store 0
    store16(p, dt, offset + j, k, _mm512_maskz_mul_ps(live, _mm512_maskz_loadu_ps(live, s + j), inv));
  }
  return _mm512_reduce_max_ps(m) + std::log(total);
}

void row_softmax_backward(const void* p, DType p_dt, int64_t p_offset, const float* dp, int64_t lim, int64_t S, float df, float scale,
                          void* ds, DType dt, int64_t ds_offset) {
  const __m512 sc = _mm512_set1_ps(scale), d = _mm512_set1_ps(df);
  for (int64_t j = 0; j < S; j += 16) {
    const __mmask16 live = lanes(lim - j);
    const __m512 v = _mm512_mul_ps(_mm512_mul_ps(sc, load16(p, p_dt, p_offset + j, live)), _mm512_sub_ps(_mm512_maskz_loadu_ps(live, dp + j), d));
    store16(ds, dt, ds_offset + j, lanes(S - j), _mm512_maskz_mov_ps(live, v));
  }
}

}  // namespace mt::cpu::avx512
