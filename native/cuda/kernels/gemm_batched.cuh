// Batched GEMMs of same-shape problems (Newton–Schulz): problem q at grid layer q, its operands
// stride_* elements after problem 0's. Two forms:
//   Sym:   C = alpha · A·Bᵀ (+ beta · D) where the product is known symmetric (B = A: the Gram
//          matrix X·Xᵀ, or A·A of a symmetric A) and D, when given, is symmetric. The grid covers
//          the tiles on and below the diagonal only (tri_tile), and each element is stored at
//          (row, col) and (col, row) (gemm_store), so C comes out exactly symmetric.
//   plain: C = alpha · A·B (+ beta · D), every tile.
#pragma once

#include "gemm_tile.cuh"

namespace mt::kern {

template <class T>
struct BatchedGemmArgs {
  GemmArgs<T> g;  // problem 0
  int64_t stride_a = 0, stride_b = 0, stride_c = 0, stride_d = 0;
};

template <class T, bool Sym, bool Aligned, Plant P = Plant::None>
MT_DEVICE void batched_gemm_body(const BatchedGemmArgs<T>& a) {
  const int64_t q = dev::block_idx().z;
  GemmArgs<T> p = a.g;
  p.A += q * a.stride_a;
  p.B += q * a.stride_b;
  p.C += q * a.stride_c;
  if (p.D) p.D += q * a.stride_d;
  if constexpr (Sym) {
    const TileRc t = tri_tile(dev::block_idx().x);
    gemm_tile<T, false, true, Aligned, P, true>(p, t.row * kGemmTileM, t.col * kGemmTileN);
  } else {
    gemm_tile<T, false, false, Aligned, P, false>(p, int(dev::block_idx().y) * kGemmTileM, int(dev::block_idx().x) * kGemmTileN);
  }
}

// launch(Sym, Aligned, grid, block, smem_bytes, args) per launch of at most kMaxGridZ problems.
template <class T, class Launch>
void batched_gemm_dispatch(const BatchedGemmArgs<T>& a, int64_t batch, bool sym, Launch&& launch) {
  if (batch == 0 || a.g.M == 0 || a.g.N == 0) return;
  const int64_t nt = ceil_div(a.g.M, kGemmTileM);
  const unsigned tiles_x = sym ? unsigned(nt * (nt + 1) / 2) : ceil_div(a.g.N, kGemmTileN), tiles_y = sym ? 1 : unsigned(nt);
  const dev::Dim3 block{GemmTileShape<T>::kThreads, 1, 1};
  const bool aligned = gemm_tiles_aligned(a.g, false, sym, a.stride_a, a.stride_b);
  for (int64_t q0 = 0; q0 < batch; q0 += kMaxGridZ) {
    BatchedGemmArgs<T> part = a;
    part.g.A += q0 * a.stride_a;
    part.g.B += q0 * a.stride_b;
    part.g.C += q0 * a.stride_c;
    if (part.g.D) part.g.D += q0 * a.stride_d;
    const dev::Dim3 grid{tiles_x, tiles_y, unsigned(batch - q0 < kMaxGridZ ? batch - q0 : kMaxGridZ)};
    with_bool(sym, [&](auto S) {
      with_aligned<T>(aligned, [&](auto AL) { launch(S, AL, grid, block, GemmTileShape<T>::kSmemBytes, part); });
    });
  }
}

}  // namespace mt::kern
