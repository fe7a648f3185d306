// The data kernels of the ring collectives. Plain loops the compiler vectorizes for the AVX2
// floor, and one hand-written streaming copy.
#include <immintrin.h>

#include <cstdlib>
#include <cstring>

#include "comm_internal.h"

namespace mt::comm {

size_t streaming_min_bytes() {
  static const size_t v = [] {
    const char* e = std::getenv("MOONTRAIN_COMM_STREAMING_BYTES");
    return e && *e ? static_cast<size_t>(std::strtoull(e, nullptr, 10)) : size_t(8) << 20;
  }();
  return v;
}

bool stream_final_sums(const void* out, const void* own, size_t bytes) { return out != own && bytes >= streaming_min_bytes(); }

void copy_cached(void* dst, const void* src, size_t bytes) { std::memcpy(dst, src, bytes); }

void copy_streaming(void* dst, const void* src, size_t bytes) {
  char* d = static_cast<char*>(dst);
  const char* s = static_cast<const char*>(src);
  if (bytes < 4096) {
    std::memcpy(d, s, bytes);
    return;
  }
  // Head up to 32-byte alignment of the destination.
  const size_t head = (32 - (reinterpret_cast<uintptr_t>(d) & 31)) & 31;
  std::memcpy(d, s, head);
  d += head;
  s += head;
  bytes -= head;
  size_t i = 0;
  for (; i + 128 <= bytes; i += 128) {
    const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(s + i));
    const __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(s + i + 32));
    const __m256i c = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(s + i + 64));
    const __m256i e = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(s + i + 96));
    _mm256_stream_si256(reinterpret_cast<__m256i*>(d + i), a);
    _mm256_stream_si256(reinterpret_cast<__m256i*>(d + i + 32), b);
    _mm256_stream_si256(reinterpret_cast<__m256i*>(d + i + 64), c);
    _mm256_stream_si256(reinterpret_cast<__m256i*>(d + i + 96), e);
  }
  _mm_sfence();
  std::memcpy(d + i, s + i, bytes - i);
}

void widen_to_f32(float* dst, const void* src, DType dtype, int64_t n) {
  if (dtype == DType::F32) {
    std::memcpy(dst, src, static_cast<size_t>(n) * 4);
    return;
  }
  const bf16_t* x = static_cast<const bf16_t*>(src);
  for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_f32(x[i]);
}

void add_partial(float* dst, const float* partial, const void* x, DType dtype, int64_t n) {
  if (dtype == DType::F32) {
    const float* a = static_cast<const float*>(x);
    for (int64_t i = 0; i < n; ++i) dst[i] = partial[i] + a[i];
  } else {
    const bf16_t* a = static_cast<const bf16_t*>(x);
    for (int64_t i = 0; i < n; ++i) dst[i] = partial[i] + bf16_to_f32(a[i]);
  }
}

void add_final(void* out, const float* partial, const void* x, DType dtype, int64_t n) {
  if (dtype == DType::F32) {
    const float* a = static_cast<const float*>(x);
    float* o = static_cast<float*>(out);
    for (int64_t i = 0; i < n; ++i) o[i] = partial[i] + a[i];
  } else {
    const bf16_t* a = static_cast<const bf16_t*>(x);
    bf16_t* o = static_cast<bf16_t*>(out);
    for (int64_t i = 0; i < n; ++i) o[i] = f32_to_bf16(partial[i] + bf16_to_f32(a[i]));
  }
}

void add_final_streaming(void* out, const float* partial, const void* x, DType dtype, int64_t n) {
  const size_t esz = dtype_size(dtype);
  char* o = static_cast<char*>(out);
  // Scalar head up to 32-byte alignment of the output (esz divides the misalignment for the
  // tensors we get: they are at least element aligned).
  int64_t head = static_cast<int64_t>(((32 - (reinterpret_cast<uintptr_t>(o) & 31)) & 31) / esz);
  if (head > n || (reinterpret_cast<uintptr_t>(o) % esz) != 0) head = n;
  add_final(o, partial, x, dtype, head);
  int64_t i = head;
  if (dtype == DType::F32) {
    const float* a = static_cast<const float*>(x);
    float* d = reinterpret_cast<float*>(o);
    for (; i + 8 <= n; i += 8)
      _mm256_stream_ps(d + i, _mm256_add_ps(_mm256_loadu_ps(partial + i), _mm256_loadu_ps(a + i)));
  } else {
    const bf16_t* a = static_cast<const bf16_t*>(x);
    bf16_t* d = reinterpret_cast<bf16_t*>(o);
    const __m256i bias = _mm256_set1_epi32(0x7fff), one = _mm256_set1_epi32(1), absmask = _mm256_set1_epi32(0x7fffffff),
                  inf = _mm256_set1_epi32(0x7f800000), quiet = _mm256_set1_epi32(0x40);
    auto round8 = [&](__m256 v) {
      const __m256i u = _mm256_castps_si256(v);
      const __m256i rounded = _mm256_srli_epi32(_mm256_add_epi32(_mm256_add_epi32(u, bias), _mm256_and_si256(_mm256_srli_epi32(u, 16), one)), 16);
      const __m256i nan = _mm256_cmpgt_epi32(_mm256_and_si256(u, absmask), inf);
      return _mm256_blendv_epi8(rounded, _mm256_or_si256(_mm256_srli_epi32(u, 16), quiet), nan);
    };
    auto widen8 = [](const bf16_t* p) {
      return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))), 16));
    };
    for (; i + 16 <= n; i += 16) {
      const __m256i lo = round8(_mm256_add_ps(_mm256_loadu_ps(partial + i), widen8(a + i)));
      const __m256i hi = round8(_mm256_add_ps(_mm256_loadu_ps(partial + i + 8), widen8(a + i + 8)));
      _mm256_stream_si256(reinterpret_cast<__m256i*>(d + i), _mm256_permute4x64_epi64(_mm256_packus_epi32(lo, hi), 0xd8));
    }
  }
  _mm_sfence();
  add_final(o + static_cast<size_t>(i) * esz, partial + i, static_cast<const char*>(x) + static_cast<size_t>(i) * esz, dtype, n - i);
}

}  // namespace mt::comm
