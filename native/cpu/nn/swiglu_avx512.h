// The AVX-512 SwiGLU kernels (swiglu_avx512bf16.cc), over elements [i0, i1) of same-shape
// buffers of dtype dt. Call only when isa_active() >= Isa::Avx512Bf16.
#pragma once
#include <cstdint>

#include "../../core/dtype.h"

namespace mt::cpu::avx512 {

void swiglu(const void* gate, const void* up, void* out, DType dt, int64_t i0, int64_t i1);
void swiglu_backward(const void* dy, const void* gate, const void* up, void* dgate, void* dup, DType dt, int64_t i0, int64_t i1);

}  // namespace mt::cpu::avx512
