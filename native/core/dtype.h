// Element types and the bf16 <-> f32 conversions every backend shares.
#pragma once
#include <cstdint>
#include <cstring>

namespace mt {

// I32 is the dtype of index tensors (token ids, expert ids, permutations, group sizes); the
// arithmetic ops take F32 and BF16 only (native/napi/args.h: tensor_arg).
enum class DType : uint8_t { F32 = 0, BF16 = 1, I32 = 2 };

inline const char* dtype_name(DType d) { return d == DType::F32 ? "f32" : d == DType::BF16 ? "bf16" : "i32"; }
inline size_t dtype_size(DType d) { return d == DType::BF16 ? 2 : 4; }

using bf16_t = uint16_t;

// Round to nearest, ties to even; NaN stays NaN (quiet), infinities stay infinities. Written
// without branches so loops over arrays of it vectorize.
inline bf16_t f32_to_bf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  const uint32_t rounded = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
  const uint32_t quiet_nan = (u >> 16) | 0x40u;
  return static_cast<bf16_t>((u & 0x7fffffffu) > 0x7f800000u ? quiet_nan : rounded);
}

inline float bf16_to_f32(bf16_t h) {
  uint32_t u = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// Reads element i of a buffer of any dtype as float.
inline float load_as_f32(const void* p, DType d, int64_t i) {
  if (d == DType::I32) return static_cast<float>(static_cast<const int32_t*>(p)[i]);
  return d == DType::F32 ? static_cast<const float*>(p)[i] : bf16_to_f32(static_cast<const bf16_t*>(p)[i]);
}

// Stores v as element i of an f32 or bf16 buffer.
inline void store_from_f32(void* p, DType d, int64_t i, float v) {
  if (d == DType::F32) static_cast<float*>(p)[i] = v;
  else static_cast<bf16_t*>(p)[i] = f32_to_bf16(v);
}

}  // namespace mt
