// bf16 microkernel with AVX512_BF16 (VDPBF16PS): 14 x 32 block of fp32 accumulators; each
// instruction multiplies pairs of consecutive-k bf16 values and adds both products. Panels
// hold k in pairs: A as [k/2][mr][2], B as [k/2][nr][2].
#include <immintrin.h>

#include <cstring>

#include "microkernel.h"

namespace mt::cpu {

namespace isa_avx512bf16 {
namespace {

constexpr int kMr = 14, kNr = 32;

// f32_to_bf16 (round to nearest even, NaN kept quiet) on 16 lanes.
__m256i to_bf16(__m512 v) {
  const __m512i u = _mm512_castps_si512(v);
  const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
  const __m512i rounded = _mm512_srli_epi32(_mm512_add_epi32(u, _mm512_add_epi32(lsb, _mm512_set1_epi32(0x7fff))), 16);
  const __mmask16 nan = _mm512_cmpgt_epu32_mask(_mm512_and_si512(u, _mm512_set1_epi32(0x7fffffff)), _mm512_set1_epi32(0x7f800000));
  const __m512i quiet = _mm512_or_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(0x40));
  return _mm512_cvtepi32_epi16(_mm512_mask_blend_epi32(nan, rounded, quiet));
}

// Word (p, r) of A, one bf16 pair, lies at a[p * kMr + r] in a packed panel and at row[r][p]
// for rows read in place.
template <bool kPacked>
void compute_impl(const BlockArgs& x) {
  const uint32_t* a = static_cast<const uint32_t*>(x.a);
  const __m512bh* b = static_cast<const __m512bh*>(x.b);
  const uint32_t* row[kMr];
#pragma GCC unroll 14
  for (int r = 0; r < kMr; ++r) row[r] = a + (kPacked ? r : r * (x.lda / 2));
  __m512 c[kMr][2];
#pragma GCC unroll 14
  for (int r = 0; r < kMr; ++r) {
    c[r][0] = x.accumulate ? _mm512_loadu_ps(x.acc + r * x.ldacc) : _mm512_setzero_ps();
    c[r][1] = x.accumulate ? _mm512_loadu_ps(x.acc + r * x.ldacc + 16) : _mm512_setzero_ps();
  }
  for (int64_t p = 0; p < x.kc / 2; ++p) {
    const __m512bh b0 = b[2 * p], b1 = b[2 * p + 1];
#pragma GCC unroll 14
    for (int r = 0; r < kMr; ++r) {
      const __m512bh av = (__m512bh)_mm512_set1_epi32(static_cast<int>(kPacked ? a[p * kMr + r] : row[r][p]));
      c[r][0] = _mm512_dpbf16_ps(c[r][0], av, b0);
      c[r][1] = _mm512_dpbf16_ps(c[r][1], av, b1);
    }
  }
  if (!x.c) {
#pragma GCC unroll 14
    for (int r = 0; r < kMr; ++r) {
      _mm512_storeu_ps(x.acc + r * x.ldacc, c[r][0]);
      _mm512_storeu_ps(x.acc + r * x.ldacc + 16, c[r][1]);
    }
    return;
  }
  // v = alpha·acc, then fma(beta, cin, v): the same roundings as scale_row.
  const __m512 alpha = _mm512_set1_ps(x.alpha), beta = _mm512_set1_ps(x.beta);
  const bool scaled = x.alpha != 1.f;
  for (int r = 0; r < kMr; ++r)
    for (int h = 0; h < 2; ++h) {
      __m512 v = scaled ? _mm512_mul_ps(alpha, c[r][h]) : c[r][h];
      if (x.cin) {
        const int64_t at = r * x.ldc + 16 * h;
        const __m512 in = x.c_dtype == DType::BF16
            ? _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(static_cast<const bf16_t*>(x.cin) + at))), 16))
            : _mm512_loadu_ps(static_cast<const float*>(x.cin) + at);
        v = _mm512_fmadd_ps(beta, in, v);
      }
      c[r][h] = v;
    }
  if (x.c_dtype == DType::BF16) {
    bf16_t* out = static_cast<bf16_t*>(x.c);
    for (int r = 0; r < kMr; ++r) {
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + r * x.ldc), to_bf16(c[r][0]));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + r * x.ldc + 16), to_bf16(c[r][1]));
    }
  } else {
    float* out = static_cast<float*>(x.c);
    for (int r = 0; r < kMr; ++r) {
      _mm512_storeu_ps(out + r * x.ldc, c[r][0]);
      _mm512_storeu_ps(out + r * x.ldc + 16, c[r][1]);
    }
  }
}

void compute(int64_t kc, const void* a, const void* b, float* acc, int64_t ldacc, bool accumulate) {
  compute_impl<true>({kc, a, 0, b, acc, ldacc, accumulate, nullptr, 0, DType::F32});
}

void compute_block(const BlockArgs& x) {
  if (x.lda == 0) compute_impl<true>(x);
  else compute_impl<false>(x);
}

// dst[p * ldd + r] = word p of row r, for a 16 x 16 block of 32-bit words (rows of src are
// ld_src bf16 apart): the classic unpack / shuffle transpose.
// 16 pairs (32 bf16) of each of the first `n` rows of src (the other rows read as zeros) become
// 16 lines of 16 words; only the first n words of each line are stored.
void transpose16x16(const bf16_t* src, int64_t ld_src, int n, uint32_t* dst, int64_t ldd) {
  __m512i r[16], t[16];
  for (int i = 0; i < 16; ++i) r[i] = i < n ? _mm512_loadu_si512(src + i * ld_src) : _mm512_setzero_si512();
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_epi32(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_epi32(r[i], r[i + 1]);
  }
  for (int i = 0; i < 16; i += 4) {
    r[i] = _mm512_unpacklo_epi64(t[i], t[i + 2]);
    r[i + 1] = _mm512_unpackhi_epi64(t[i], t[i + 2]);
    r[i + 2] = _mm512_unpacklo_epi64(t[i + 1], t[i + 3]);
    r[i + 3] = _mm512_unpackhi_epi64(t[i + 1], t[i + 3]);
  }
  for (int i = 0; i < 4; ++i) {
    t[i] = _mm512_shuffle_i32x4(r[i], r[i + 4], 0x88);
    t[i + 4] = _mm512_shuffle_i32x4(r[i], r[i + 4], 0xdd);
    t[i + 8] = _mm512_shuffle_i32x4(r[i + 8], r[i + 12], 0x88);
    t[i + 12] = _mm512_shuffle_i32x4(r[i + 8], r[i + 12], 0xdd);
  }
  for (int i = 0; i < 4; ++i) {
    r[i] = _mm512_shuffle_i32x4(t[i], t[i + 8], 0x88);
    r[i + 8] = _mm512_shuffle_i32x4(t[i], t[i + 8], 0xdd);
    r[i + 4] = _mm512_shuffle_i32x4(t[i + 4], t[i + 12], 0x88);
    r[i + 12] = _mm512_shuffle_i32x4(t[i + 4], t[i + 12], 0xdd);
  }
  const __mmask16 keep = static_cast<__mmask16>(n >= 16 ? 0xffffu : (1u << n) - 1);
  for (int i = 0; i < 16; ++i) _mm512_mask_storeu_epi32(dst + i * ldd, keep, r[i]);
}

constexpr int64_t kPrefetchPairs = 8, kPrefetchStride = 2048;  // elements

// Packs element (r, k) of a [rows x K] bf16 view (strides rs between rows, ks between k) as
// 32-bit words dst[(k/2) * width + r] = (element (r, k) | element (r, k+1) << 16), zero beyond
// rows and K. kPrefetch: k-lines a page or more apart (rows of the LM head's [tokens, vocab]
// gradient) are fetched a few pairs ahead, which the hardware prefetchers do not do for such
// strides (that weight gradient +4-6%; a separate instantiation, as the check alone made the
// short-stride packing of attention and expert gradients 2-3% slower).
template <bool kPrefetch>
void pack_pairs(const bf16_t* src, int64_t rs, int64_t ks, int64_t rows, int64_t K, int64_t kp, int width, bf16_t* dst_) {
  uint32_t* dst = reinterpret_cast<uint32_t*>(dst_);
  const int64_t pairs = kp / 2, full = K / 2;
  if (rows < width || pairs > full) std::memset(dst, 0, sizeof(uint32_t) * width * pairs);
  if (ks == 1) {  // each row is contiguous in k: 16 x 16 word transposes, then single pairs
    const int64_t p_done = full / 16 * 16;
    for (int64_t r0 = 0; r0 < rows; r0 += 16)
      for (int64_t p0 = 0; p0 < p_done; p0 += 16)
        transpose16x16(src + r0 * rs + 2 * p0, rs, static_cast<int>(std::min<int64_t>(16, rows - r0)), dst + p0 * width + r0, width);
    for (int64_t r = 0; r < rows; ++r) {
      const bf16_t* row = src + r * rs;
      for (int64_t p = p_done; p < full; ++p) {
        uint32_t w;
        std::memcpy(&w, row + 2 * p, 4);
        dst[p * width + r] = w;
      }
      if (K & 1) dst[full * width + r] = row[K - 1];
    }
    return;
  }
  for (int64_t p = 0; p < full; ++p) {  // two k-lines at a time, interleaved
    const bf16_t* lo = src + 2 * p * ks;
    const bf16_t* hi = lo + ks;
    uint32_t* out = dst + p * width;
    int64_t r = 0;
    if (rs == 1) {
      if (kPrefetch && p + kPrefetchPairs < full) {
        const char* ahead = reinterpret_cast<const char*>(lo + 2 * kPrefetchPairs * ks);
        _mm_prefetch(ahead, _MM_HINT_T0);
        _mm_prefetch(ahead + (rows * 2 - 1), _MM_HINT_T0);
        _mm_prefetch(ahead + ks * 2, _MM_HINT_T0);
        _mm_prefetch(ahead + ks * 2 + (rows * 2 - 1), _MM_HINT_T0);
      }
      for (; r + 16 <= rows; r += 16) {
        const __m512i l = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(lo + r)));
        const __m512i h = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(hi + r)));
        _mm512_storeu_si512(out + r, _mm512_or_si512(l, _mm512_slli_epi32(h, 16)));
      }
      if (r < rows) {  // the rest of a panel (A's panels are 14 rows): masked
        const __mmask16 m = static_cast<__mmask16>((1u << (rows - r)) - 1);
        const __m512i l = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, lo + r));
        const __m512i h = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, hi + r));
        _mm512_mask_storeu_epi32(out + r, m, _mm512_or_si512(l, _mm512_slli_epi32(h, 16)));
        r = rows;
      }
    }
    for (; r < rows; ++r) out[r] = lo[r * rs] | (static_cast<uint32_t>(hi[r * rs]) << 16);
  }
  if (K & 1) {
    const bf16_t* lo = src + (K - 1) * ks;
    for (int64_t r = 0; r < rows; ++r) dst[full * width + r] = lo[r * rs];
  }
}

void pack_a(const MatRef& a, int64_t i0, int64_t rows, int64_t K, int64_t kp, void* dst) {
  const int64_t rs = a.trans ? 1 : a.ld, ks = a.trans ? a.ld : 1;
  (ks >= kPrefetchStride ? pack_pairs<true> : pack_pairs<false>)(static_cast<const bf16_t*>(a.data) + i0 * rs, rs, ks, rows, K, kp, kMr, static_cast<bf16_t*>(dst));
}

void pack_b(const MatRef& b, int64_t j0, int64_t cols, int64_t K, int64_t kp, void* dst) {
  // Column j of op(B): B[k][j] (stride ld between k) or, transposed, B[j][k].
  const int64_t rs = b.trans ? b.ld : 1, ks = b.trans ? 1 : b.ld;
  (ks >= kPrefetchStride ? pack_pairs<true> : pack_pairs<false>)(static_cast<const bf16_t*>(b.data) + j0 * rs, rs, ks, cols, K, kp, kNr, static_cast<bf16_t*>(dst));
}

}  // namespace
}  // namespace isa_avx512bf16

const Microkernel& microkernel_avx512_bf16() {
  static const Microkernel k{"avx512bf16-14x32", isa_avx512bf16::kMr, isa_avx512bf16::kNr, 2, DType::BF16, 112, 256, 512, isa_avx512bf16::pack_a, isa_avx512bf16::pack_b, isa_avx512bf16::compute,
                              isa_avx512bf16::compute_block};
  return k;
}

}  // namespace mt::cpu
