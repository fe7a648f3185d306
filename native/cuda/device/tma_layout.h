// Where a TMA tile load (cp.async.bulk.tensor.2d) puts the elements of its box in shared memory,
// as the CUDA programming guide and the PTX ISA describe it: the box is stored densely, row after
// row (a row is the box's inner dimension), and a swizzle mode permutes 16-byte chunks inside each
// span: chunk bits [4, 4 + b) of the byte offset are XORed with bits [7, 7 + b), b = 1, 2, 3 for the
// 32-, 64- and 128-byte modes (the destination aligned to the pattern's repeat, 1024 bytes for
// 128B). Elements outside the tensor are filled with zeros. The TMA probe
// (native/cuda/probes/tma_probe_main.cu) checks this reading against a Hopper GPU.
#pragma once

#include <cstdint>

#if defined(__CUDACC__)
#define MT_TMA_HD __host__ __device__ __forceinline__
#else
#define MT_TMA_HD inline
#endif

namespace mt::tma {

// The values of CUtensorMapSwizzle.
enum class Swizzle : int { None = 0, B32 = 1, B64 = 2, B128 = 3 };

MT_TMA_HD constexpr uint32_t span_bytes(Swizzle s) { return s == Swizzle::None ? 0u : 16u << int(s); }

// The shared-memory byte offset of the byte at `dense` in the box stored row after row.
MT_TMA_HD constexpr uint32_t swizzled_offset(Swizzle s, uint32_t dense) {
  const uint32_t bits = uint32_t(int(s));
  const uint32_t mask = (1u << bits) - 1u;
  return dense ^ (((dense >> 7) & mask) << 4);
}

// Element (row, col) of a box whose rows hold `inner` elements of `elem_bytes` bytes.
MT_TMA_HD constexpr uint32_t box_offset(Swizzle s, uint32_t row, uint32_t col, uint32_t inner, uint32_t elem_bytes) {
  return swizzled_offset(s, (row * inner + col) * elem_bytes);
}

namespace detail {
// Each mode permutes the byte offsets of a 1024-byte repeat, and moves 16-byte chunks whole.
constexpr bool permutes_repeat(Swizzle s) {
  bool seen[1024] = {};
  for (uint32_t b = 0; b < 1024; ++b) {
    const uint32_t o = swizzled_offset(s, b);
    if (o >= 1024 || seen[o] || (o & 15) != (b & 15)) return false;
    seen[o] = true;
  }
  return true;
}
static_assert(permutes_repeat(Swizzle::None) && permutes_repeat(Swizzle::B32) && permutes_repeat(Swizzle::B64) && permutes_repeat(Swizzle::B128));
static_assert(swizzled_offset(Swizzle::B128, 128 + 16) == 128 + 0 && swizzled_offset(Swizzle::B128, 7 * 128) == 7 * 128 + 7 * 16);
static_assert(swizzled_offset(Swizzle::B32, 128) == 128 + 16 && swizzled_offset(Swizzle::B32, 256) == 256);
}  // namespace detail

}  // namespace mt::tma
