// The AVX-512 (+BF16) kernels of the nn ops, one file per op (*_avx512bf16.cc, built with their
// own -m flags). Call only when isa_active() >= Isa::Avx512Bf16.
#pragma once
#include <cstdint>

#include "../../core/dtype.h"

namespace mt::cpu::avx512 {

// swiglu_avx512bf16.cc: elements [i0, i1) of same-shape buffers of dtype dt.
void swiglu(const void* gate, const void* up, void* out, DType dt, int64_t i0, int64_t i1);
void swiglu_backward(const void* dy, const void* gate, const void* up, void* dgate, void* dup, DType dt, int64_t i0, int64_t i1);

// cross_entropy_avx512bf16.cc: one row of V logits at element `offset` of a buffer of dtype dt.
// Returns log(sum exp(x)) (max-shifted; the sum in 16 float lanes, a fixed order).
float row_logsumexp(const void* logits, DType dt, int64_t offset, int64_t V);
// out row = scale * (exp(x - lse) - onehot(target)), in dt.
void row_softmax_grad(const void* logits, DType dt, int64_t offset, int64_t V, float lse, int32_t target, float scale, void* out);

// attention_avx512bf16.cc: one query row of unscaled scores s[0, S) (causal: only [0, lim)
// count): p = softmax(scale·s) stored in dt at element `offset` of p (zeros past lim; s is
// overwritten); returns the row's log-sum-exp of scale·s.
float row_softmax(float* s, int64_t lim, int64_t S, float scale, void* p, DType dt, int64_t offset);

}  // namespace mt::cpu::avx512
