// Arguments, epilogue and launch geometry shared by the GEMM kernels:
// C = alpha * op(A) * op(B) (+ beta * D), row-major, op(X) = X or X transposed. D may be C itself
// (C += A * B).
#pragma once

#include <cmath>
#include <type_traits>

#include "../device/device.cuh"

namespace mt::kern {

template <class T>
struct GemmArgs {
  int M = 0, N = 0, K = 0;
  const T* A = nullptr;  // M x K, or K x M when A is transposed; row stride lda
  int lda = 0;
  const T* B = nullptr;  // K x N, or N x K when B is transposed; row stride ldb
  int ldb = 0;
  T* C = nullptr;  // M x N, row stride ldc
  int ldc = 0;
  const T* D = nullptr;  // optional addend, M x N, row stride ldd (may alias C)
  int ldd = 0;
  float alpha = 1.f, beta = 1.f;  // C = alpha * acc + beta * D, in float, rounded once
};

// Bugs planted on purpose in the kernels' emulator tests, to show those tests fail on them; the
// library only instantiates Plant::None.
// FragmentIndex, MissingBarrier, TileEdge: in the bf16 tile; GroupTiles (a group's row tiles
// counted rounding down), GroupEdge (the weight gradient reads one row past its group): in the
// grouped GEMMs; MirrorSkip (the symmetric epilogue does not mirror): in both tiles' epilogue.
enum class Plant { None, FragmentIndex, MissingBarrier, TileEdge, GroupTiles, GroupEdge, MirrorSkip };

// Calls f(bool_constant<a>, bool_constant<b>, bool_constant<c>): one instantiation per case.
template <class F>
void with_flags(bool a, bool b, bool c, F&& f) {
  using T = std::true_type;
  using N = std::false_type;
  if (a) {
    if (b) c ? f(T{}, T{}, T{}) : f(T{}, T{}, N{});
    else c ? f(T{}, N{}, T{}) : f(T{}, N{}, N{});
  } else {
    if (b) c ? f(N{}, T{}, T{}) : f(N{}, T{}, N{});
    else c ? f(N{}, N{}, T{}) : f(N{}, N{}, N{});
  }
}

MT_HD constexpr unsigned ceil_div(int a, int b) { return unsigned((a + b - 1) / b); }

MT_HD float gemm_to_f32(float v) { return v; }
MT_HD float gemm_to_f32(uint16_t v) { return dev::bf16_to_f32(v); }
MT_HD void gemm_from_f32(float v, float* out) { *out = v; }
MT_HD void gemm_from_f32(float v, uint16_t* out) { *out = dev::f32_to_bf16(v); }

// Stores the accumulator of C[row][col]: alpha * acc + beta * D, rounded once to T. Sym: C is
// symmetric (M == N, D symmetric when given); only elements with row >= col are computed (the
// tiles on and below the diagonal) and each is also stored at (col, row), so C is exactly symmetric.
template <class T, bool Sym, Plant P>
MT_DEVICE void gemm_store(const GemmArgs<T>& p, int row, int col, float acc) {
  if (row >= p.M || col >= p.N || (Sym && row < col)) return;
  float v = p.alpha * acc;
  if (p.D) v = dev::fma(p.beta, gemm_to_f32(p.D[int64_t(row) * p.ldd + col]), v);
  gemm_from_f32(v, p.C + int64_t(row) * p.ldc + col);
  if (Sym && P != Plant::MirrorSkip && row != col) gemm_from_f32(v, p.C + int64_t(col) * p.ldc + row);
}

// The symmetric GEMMs' tile schedule: tile j of the lower triangle (row >= col), in row order
// (j = row (row + 1) / 2 + col), so a grid of nt (nt + 1) / 2 blocks covers it with none idle.
struct TileRc {
  int row, col;
};
MT_HD TileRc tri_tile(int64_t j) {
  int64_t r = int64_t((sqrtf(8.f * float(j) + 1.f) - 1.f) * 0.5f);  // then corrected for rounding
  while (r * (r + 1) / 2 > j) --r;
  while ((r + 1) * (r + 2) / 2 <= j) ++r;
  return {int(r), int(j - r * (r + 1) / 2)};
}

}  // namespace mt::kern
