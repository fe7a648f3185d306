// f32 microkernel for AVX-512: 14 x 32 register block (28 zmm accumulators, A broadcast from
// memory). Built with AVX-512 flags; nothing here may be called unless isa_active() >= avx512.
#include <immintrin.h>

#include "microkernel.h"

namespace mt::cpu {

namespace isa_avx512 {
namespace {

constexpr int kMr = 14, kNr = 32;

void compute(int64_t kc, const void* a_, const void* b_, float* acc, int64_t ldacc, bool accumulate) {
  const float* a = static_cast<const float*>(a_);
  const float* b = static_cast<const float*>(b_);
  __m512 c[kMr][2];
#pragma GCC unroll 14
  for (int r = 0; r < kMr; ++r) {
    c[r][0] = accumulate ? _mm512_loadu_ps(acc + r * ldacc) : _mm512_setzero_ps();
    c[r][1] = accumulate ? _mm512_loadu_ps(acc + r * ldacc + 16) : _mm512_setzero_ps();
  }
  for (int64_t k = 0; k < kc; ++k) {
    const __m512 b0 = _mm512_load_ps(b + k * kNr), b1 = _mm512_load_ps(b + k * kNr + 16);
    _mm_prefetch(reinterpret_cast<const char*>(b + (k + 8) * kNr), _MM_HINT_T0);
#pragma GCC unroll 14
    for (int r = 0; r < kMr; ++r) {
      const __m512 av = _mm512_set1_ps(a[k * kMr + r]);
      c[r][0] = _mm512_fmadd_ps(av, b0, c[r][0]);
      c[r][1] = _mm512_fmadd_ps(av, b1, c[r][1]);
    }
  }
#pragma GCC unroll 14
  for (int r = 0; r < kMr; ++r) {
    _mm512_storeu_ps(acc + r * ldacc, c[r][0]);
    _mm512_storeu_ps(acc + r * ldacc + 16, c[r][1]);
  }
}

void pack_a(const MatRef& a, int64_t i0, int64_t rows, int64_t K, int64_t kp, void* dst) {
  pack_a_f32(a, i0, rows, K, kp, kMr, static_cast<float*>(dst));
}
void pack_b(const MatRef& b, int64_t j0, int64_t cols, int64_t K, int64_t kp, void* dst) {
  pack_b_f32(b, j0, cols, K, kp, kNr, static_cast<float*>(dst));
}

}  // namespace
}  // namespace isa_avx512

const Microkernel& microkernel_avx512_f32() {
  static const Microkernel k{"avx512-f32-14x32", isa_avx512::kMr, isa_avx512::kNr, 1, DType::F32, 112, 256, 256, isa_avx512::pack_a, isa_avx512::pack_b, isa_avx512::compute};
  return k;
}

}  // namespace mt::cpu
