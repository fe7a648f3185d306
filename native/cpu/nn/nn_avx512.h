// The AVX-512 (+BF16) kernels of the nn ops, one file per op (*_avx512bf16.cc, built with their
// own -m flags). Call only when avx512_rows() (nn_ops.h).
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

// rms_norm_avx512bf16.cc: one row of D elements at element `offset` of x (and dy, y, dx) of
// dtype dt, weight w as floats. Forward: y = x * rstd * w, returns rstd (sum of squares in
// double). Backward: dx = rstd * (dy * w) - c * x with c = rstd³ · mean(dy * w * x) (dot in
// double; dx in float arithmetic when dt is bf16, else in double); adds dy * x * rstd to
// dweight[0, D) (double).
float rms_norm_row(const void* x, DType dt, int64_t offset, int64_t D, const float* w, double eps, void* y);
void rms_norm_backward_row(const void* dy, const void* x, DType dt, int64_t offset, int64_t D, const float* w, float rstd, void* dx,
                           double* dweight);

// moe_routing_avx512bf16.cc: one slot of the unpermute backward, rows of D elements of dtype dt:
// dys row = weight * dy row (at ys_offset, like the ys row); returns dy row · ys row in double.
double unpermute_backward_slot(const void* dy, const void* ys, void* dys, DType dt, int64_t dy_offset, int64_t ys_offset,
                               int64_t D, float weight);

// attention_avx512bf16.cc: one query row of unscaled scores s[0, S) (causal: only [0, lim)
// count): p = softmax(scale·s) stored in dt at element `offset` of p (zeros past lim; s is
// overwritten); returns the row's log-sum-exp of scale·s.
float row_softmax(float* s, int64_t lim, int64_t S, float scale, void* p, DType dt, int64_t offset);
// One row of dS = scale · P ⊙ (dP − df) over [0, lim), zeros to S: P at element p_offset of p
// (dtype p_dt), dP floats, dS stored in dt at element ds_offset of ds.
void row_softmax_backward(const void* p, DType p_dt, int64_t p_offset, const float* dp, int64_t lim, int64_t S, float df, float scale,
                          void* ds, DType dt, int64_t ds_offset);

}  // namespace mt::cpu::avx512
