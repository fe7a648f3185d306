// The device layer: everything a kernel body may use besides plain C++. A kernel body is written
// once against it (a function template in native/cuda/kernels/*.cuh); nvcc compiles it with the
// real intrinsics and inline PTX (nvcc.cuh), g++ with the CPU emulator (native/cuda/emu), where
// every CUDA thread of a block is a fiber.
//
// Shared memory is reached only through Smem<T> (ld/st), ldmatrix and cp.async, so the emulator
// sees every access and can check it.
#pragma once

#include <cstddef>
#include <cstdint>

#include "fragments.h"

namespace mt::dev {

struct Dim3 {
  unsigned x = 1, y = 1, z = 1;
};

// bf16 <-> f32 on bit patterns (round to nearest even; NaN stays NaN), identical on both sides.
MT_HD float bits_to_f32(uint32_t u) {
  float f;
  __builtin_memcpy(&f, &u, 4);
  return f;
}
MT_HD uint32_t f32_to_bits(float f) {
  uint32_t u;
  __builtin_memcpy(&u, &f, 4);
  return u;
}
MT_HD float bf16_to_f32(uint16_t h) { return bits_to_f32(uint32_t(h) << 16); }
MT_HD uint16_t f32_to_bf16(float f) {
  const uint32_t u = f32_to_bits(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return uint16_t((u >> 16) | 0x40);
  return uint16_t((u + 0x7fffu + ((u >> 16) & 1)) >> 16);
}
MT_HD uint32_t pack_bf16x2(uint16_t lo, uint16_t hi) { return uint32_t(lo) | (uint32_t(hi) << 16); }

}  // namespace mt::dev

#if defined(__CUDACC__)
#include "nvcc.cuh"
#else
#include "../emu/emulator.h"
#endif
