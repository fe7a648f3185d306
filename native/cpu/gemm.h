// The one matrix-product primitive every CPU op is built on.
//
//   C[M,N] = alpha * op(A)[M,K] · op(B)[K,N] + beta * Cin[M,N]
//
// op(X) is X or Xᵀ (trans flag; the stored matrix is then [K,M] / [N,K]). A and B share a
// dtype; C and Cin share one (Cin may be C itself, or null when beta == 0). Accumulation is
// always fp32 over the whole K for each element inside one task, in k order, so results do
// not depend on the thread count. `symmetric` promises op(A)·op(B) is symmetric (M == N, and
// Cin symmetric when used): only the upper triangle is computed and then mirrored.
#pragma once
#include <cstdint>
#include <vector>

#include "../core/dtype.h"
#include "../core/isa.h"

namespace mt::cpu {

struct MatRef {
  const void* data = nullptr;
  DType dtype = DType::F32;
  int64_t ld = 0;      // elements between consecutive stored rows
  bool trans = false;  // op(X) = Xᵀ
};

struct GemmProblem {
  int64_t M = 0, N = 0, K = 0;
  MatRef A, B;
  float alpha = 1.f, beta = 0.f;
  const void* Cin = nullptr;  // same dtype and ld as C
  void* C = nullptr;
  DType c_dtype = DType::F32;
  int64_t ldc = 0;
  bool symmetric = false;
};

// Runs independent problems together, balancing their tiles across the pool.
void gemm_batch(const GemmProblem* problems, int64_t count);
inline void gemm(const GemmProblem& p) { gemm_batch(&p, 1); }

// Element (i, k) of op(X) for a matrix stored with leading dimension ld.
inline float op_at(const MatRef& x, int64_t i, int64_t k) {
  return x.trans ? load_as_f32(x.data, x.dtype, k * x.ld + i) : load_as_f32(x.data, x.dtype, i * x.ld + k);
}

// Backends. Each computes the same function; reference is the readable specification.
void gemm_batch_reference(const GemmProblem* problems, int64_t count);
void gemm_batch_blocked(const GemmProblem* problems, int64_t count, Isa isa);

}  // namespace mt::cpu
