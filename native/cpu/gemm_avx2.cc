// f32 microkernel for AVX2 + FMA: 6 x 16 register block (12 ymm accumulators).
// Built with -mavx2 -mfma only; bf16 inputs arrive here already converted by the packer.
#include <immintrin.h>

#include "microkernel.h"

namespace mt::cpu {

namespace isa_avx2 {
namespace {

constexpr int kMr = 6, kNr = 16;

// Element (k, r) of A lies at a[k * kMr + r] in a packed panel and at row[r][k] for rows read
// in place. The block goes to acc, or on the last k block (x.c set, f32 output only) straight to
// C as fma(beta, cin, alpha·acc), the roundings of gemm_blocked's scale_row.
template <bool kPacked>
void compute_impl(const BlockArgs& x) {
  const float* a = static_cast<const float*>(x.a);
  const float* b = static_cast<const float*>(x.b);
  const float* row[kMr];
  for (int r = 0; r < kMr; ++r) row[r] = a + (kPacked ? r : r * x.lda);
  __m256 c[kMr][2];
  for (int r = 0; r < kMr; ++r)
    for (int h = 0; h < 2; ++h)
      c[r][h] = x.accumulate ? _mm256_loadu_ps(x.acc + r * x.ldacc + 8 * h) : _mm256_setzero_ps();
  for (int64_t k = 0; k < x.kc; ++k) {
    const __m256 b0 = _mm256_load_ps(b + k * kNr), b1 = _mm256_load_ps(b + k * kNr + 8);
#pragma GCC unroll 6
    for (int r = 0; r < kMr; ++r) {
      const __m256 av = _mm256_broadcast_ss(kPacked ? a + k * kMr + r : row[r] + k);
      c[r][0] = _mm256_fmadd_ps(av, b0, c[r][0]);
      c[r][1] = _mm256_fmadd_ps(av, b1, c[r][1]);
    }
  }
  float* out = x.c ? static_cast<float*>(x.c) : x.acc;
  const int64_t ld = x.c ? x.ldc : x.ldacc;
  const bool scaled = x.c && x.alpha != 1.f, added = x.c && x.cin;
  const __m256 alpha = _mm256_set1_ps(x.alpha), beta = _mm256_set1_ps(x.beta);
  for (int r = 0; r < kMr; ++r)
    for (int h = 0; h < 2; ++h) {
      __m256 v = scaled ? _mm256_mul_ps(alpha, c[r][h]) : c[r][h];
      if (added) v = _mm256_fmadd_ps(beta, _mm256_loadu_ps(static_cast<const float*>(x.cin) + r * x.ldc + 8 * h), v);
      _mm256_storeu_ps(out + r * ld + 8 * h, v);
    }
}

void compute(int64_t kc, const void* a, const void* b, float* acc, int64_t ldacc, bool accumulate) {
  compute_impl<true>({kc, a, 0, b, acc, ldacc, accumulate, nullptr, 0, DType::F32});
}

void compute_block(const BlockArgs& x) {
  if (x.lda == 0) compute_impl<true>(x);
  else compute_impl<false>(x);
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
  static const Microkernel k{"avx2-f32-6x16", isa_avx2::kMr, isa_avx2::kNr, 1, DType::F32, 96, 256, 256, isa_avx2::pack_a, isa_avx2::pack_b, isa_avx2::compute,
                              isa_avx2::compute_block};
  return k;
}

}  // namespace mt::cpu
