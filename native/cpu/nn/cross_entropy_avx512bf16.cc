// Cross-entropy's row kernels with AVX-512 (+BF16): the row's max, its sum of exponentials and
// the gradient row, 16 lanes at a time (cross_entropy.cc calls them when the ISA path allows).
#include <cmath>
#include <limits>

#include "nn_avx512.h"
#include "vec512.h"

namespace mt::cpu::avx512 {

float row_logsumexp(const void* logits, DType dt, int64_t offset, int64_t V) {
  __m512 m = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
  for (int64_t j = 0; j < V; j += 16) {
    const __mmask16 k = lanes(V - j);
    m = _mm512_mask_max_ps(m, k, m, load16(logits, dt, offset + j, k));
  }
  const float mx = _mm512_reduce_max_ps(m);
  const __m512 shift = _mm512_set1_ps(mx);
  __m512 sum = _mm512_setzero_ps();
  for (int64_t j = 0; j < V; j += 16) {
    const __mmask16 k = lanes(V - j);
    sum = _mm512_add_ps(sum, _mm512_maskz_mov_ps(k, exp16(_mm512_sub_ps(load16(logits, dt, offset + j, k), shift))));
  }
  return mx + static_cast<float>(std::log(static_cast<double>(_mm512_reduce_add_ps(sum))));
}

void row_softmax_grad(const void* logits, DType dt, int64_t offset, int64_t V, float lse, int32_t target, float scale, void* out) {
  const __m512 l = _mm512_set1_ps(lse), s = _mm512_set1_ps(scale);
  for (int64_t j = 0; j < V; j += 16) {
    const __mmask16 k = lanes(V - j);
    __m512 v = _mm512_mul_ps(s, exp16(_mm512_sub_ps(load16(logits, dt, offset + j, k), l)));
    if (target >= j && target < j + 16) v = _mm512_mask_sub_ps(v, static_cast<__mmask16>(1u << (target - j)), v, s);
    store16(out, dt, offset + j, k, v);
  }
}

}  // namespace mt::cpu::avx512
