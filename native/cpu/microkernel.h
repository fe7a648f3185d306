// The interface between the blocked GEMM driver (gemm_blocked.cc, built for the AVX2 floor)
// and the ISA-specific microkernels (gemm_<isa>.cc, each built with its own -m flags so that
// wider instructions never leak into shared code).
//
// Packed panels: op(A) is cut into panels of mr rows and op(B) into panels of nr columns, each
// covering all of K padded to kp (a multiple of ku) with zeros. Element offsets inside a panel
// are k*mr (A) and k*nr (B) for any k that is a multiple of ku, whatever the internal layout.
#pragma once
#include <cstdint>

#include "gemm.h"

namespace mt::cpu {

// One mr x nr block of C = A·B over k in [k0, k0 + kc).
struct BlockArgs {
  int64_t kc;
  const void* a;
  int64_t lda;  // 0: a is a packed panel; else row r of op(A) is at a + r * lda elements (kc even)
  const void* b;  // packed panel
  float* acc;
  int64_t ldacc;
  bool accumulate;  // start from acc (a later k block) instead of zero
  void* c;          // non-null: the last k block, so store the block to C (row stride ldc,
  int64_t ldc;      // c_dtype) instead of to acc: alpha·block, plus beta·cin when cin is set
  DType c_dtype;    // (cin: same layout as C, may be C), rounded as gemm_blocked's scale_row
  const void* cin = nullptr;
  float alpha = 1.f, beta = 0.f;
};

struct Microkernel {
  const char* name;
  int mr, nr, ku;
  DType packed;  // element type of the packed panels
  int mc, nc, kc;  // preferred cache blocks (multiples of mr, nr, ku)
  // Packs rows [i0, i0 + rows) of op(A) (rows <= mr) into one panel of mr x kp.
  void (*pack_a)(const MatRef& a, int64_t i0, int64_t rows, int64_t K, int64_t kp, void* dst);
  // Packs columns [j0, j0 + cols) of op(B) (cols <= nr) into one panel of kp x nr.
  void (*pack_b)(const MatRef& b, int64_t j0, int64_t cols, int64_t K, int64_t kp, void* dst);
  // acc[mr x nr] (row stride ldacc) = (accumulate ? acc : 0) + a_panel[0:kc] · b_panel[0:kc].
  void (*compute)(int64_t kc, const void* a, const void* b, float* acc, int64_t ldacc, bool accumulate);
  // The same product, generalised (null where a kernel does not offer it): A read in place
  // and the result written straight to C on the last k block, see BlockArgs.
  void (*compute_block)(const BlockArgs& args) = nullptr;
};

// f32 panels (source f32 or bf16, converted while packing); shared by the AVX2/AVX-512 kernels.
void pack_a_f32(const MatRef& a, int64_t i0, int64_t rows, int64_t K, int64_t kp, int mr, float* dst);
void pack_b_f32(const MatRef& b, int64_t j0, int64_t cols, int64_t K, int64_t kp, int nr, float* dst);

const Microkernel& microkernel_avx2_f32();
const Microkernel& microkernel_avx512_f32();
const Microkernel& microkernel_avx512_bf16();
const Microkernel& microkernel_amx_bf16();

}  // namespace mt::cpu
