// f32 microkernel for AVX2 + FMA: 6 x 16 register block (12 ymm accumulators).
// Built with -mavx2 -mfma only; bf16 inputs arrive here already converted by the packer.
#include <immintrin.h>

#include "microkernel.h"

namespace mt::cpu {

namespace isa_avx2 {
namespace {

constexpr int kMr = 6, kNr = 16;

void compute(int64_t kc, const void* a_, const void* b_, float* acc, int64_t ldacc, bool accumulate) {
  const float* a = static_cast<const float*>(a_);
  const float* b = static_cast<const float*>(b_);
  __m256 c[kMr][2];
  for (int r = 0; r < kMr; ++r)
    for (int h = 0; h < 2; ++h)
      c[r][h] = accumulate ? _mm256_loadu_ps(acc + r * ldacc + 8 * h) : _mm256_setzero_ps();
  for (int64_t k = 0; k < kc; ++k) {
    const __m256 b0 = _mm256_load_ps(b + k * kNr), b1 = _mm256_load_ps(b + k * kNr + 8);
#pragma GCC unroll 6
    for (int r = 0; r < kMr; ++r) {
      const __m256 av = _mm256_broadcast_ss(a + k * kMr + r);
      c[r][0] = _mm256_fmadd_ps(av, b0, c[r][0]);
      c[r][1] = _mm256_fmadd_ps(av, b1, c[r][1]);
    }
  }
  for (int r = 0; r < kMr; ++r)
    for (int h = 0; h < 2; ++h) _mm256_storeu_ps(acc + r * ldacc + 8 * h, c[r][h]);
}

void pack_a(const MatRef& a, int64_t i0, int64_t rows, int64_t K, int64_t kp, void* dst) {
  pack_a_f32(a, i0, rows, K, kp, kMr, static_cast<float*>(dst));
}
void pack_b(const MatRef& b, int64_t j0, int64_t cols, int64_t K, int64_t kp, void* dst) {
  pack_b_f32(b, j0, cols, K, kp, kNr, static_cast<float*>(dst));
}

}  // namespace
}  // namespace isa_avx2

const Microkernel& microkernel_avx2_f32() {
  static const Microkernel k{"avx2-f32-6x16", isa_avx2::kMr, isa_avx2::kNr, 1, DType::F32, 96, 256, 256, isa_avx2::pack_a, isa_avx2::pack_b, isa_avx2::compute};
  return k;
}

}  // namespace mt::cpu
