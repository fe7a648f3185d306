// Element values of the emulator tests: bf16 (uint16_t bits) and f32 to and from double.
#pragma once
#include <cstdint>

#include "../../native/cuda/device/device.cuh"

namespace mt::test {

using bf16 = uint16_t;
inline double wide(float v) { return v; }
inline double wide(bf16 v) { return dev::bf16_to_f32(v); }
template <class T>
T narrow(double v) {
  if constexpr (sizeof(T) == 2) return dev::f32_to_bf16(float(v));
  else return float(v);
}
template <class T>
const char* tname() { return sizeof(T) == 2 ? "bf16" : "f32"; }

}  // namespace mt::test
