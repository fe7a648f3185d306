// The data kernels of the ring collectives. Plain loops the compiler vectorizes for the AVX2
// floor, and one hand-written streaming copy.
#include <immintrin.h>

#include <cstring>

#include "comm_internal.h"

namespace mt::comm {

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

}  // namespace mt::comm
