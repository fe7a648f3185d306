// f32 GEMM on FFMA: 64x64 block tiles, 256 threads of 4x4 outputs each (rows ty + 16i, columns
// tx + 16j, so a warp's shared-memory reads are broadcasts or consecutive words), K in steps of 16.
// Tiles are stored k-major ([k][m], [k][n]) whatever the operands' layout; global reads follow
// the operand's contiguous dimension.
#pragma once

#include "gemm_common.cuh"

namespace mt::kern {

struct GemmF32Tile {
  static constexpr int BM = 64, BN = 64, BK = 16, kPad = 4, kThreads = 256;
  static constexpr size_t kSmemBytes = size_t(BK) * (BM + kPad + BN + kPad) * sizeof(float);
};

// Fills tile[k][x] (k < BK, x < TileX) from a stored matrix that is X-major (x rows, k contiguous)
// when KContiguous, else k rows with x contiguous.
template <int TileX, bool KContiguous>
MT_DEVICE void gemm_f32_load_tile(dev::Smem<float> tile, const float* src, int ld, int xs, int ks, int x0, int k0, int tid) {
  constexpr int BK = GemmF32Tile::BK, ld_s = TileX + GemmF32Tile::kPad;
  for (int e = tid; e < TileX * BK; e += GemmF32Tile::kThreads) {
    const int x = KContiguous ? e / BK : e % TileX, k = KContiguous ? e % BK : e / TileX;
    const int gx = x0 + x, gk = k0 + k;
    const bool ok = gx < xs && gk < ks;
    tile.st(k * ld_s + x, ok ? (KContiguous ? src[int64_t(gx) * ld + gk] : src[int64_t(gk) * ld + gx]) : 0.f);
  }
}

// The output tile at (m0, n0), computed by the whole block (as gemm_bf16_tile).
template <bool TA, bool TB, Plant P = Plant::None, bool Sym = false>
MT_DEVICE void gemm_f32_tile(const GemmArgs<float>& p, int m0, int n0) {
  using T = GemmF32Tile;
  constexpr int BM = T::BM, BN = T::BN, BK = T::BK, lda_s = BM + T::kPad, ldb_s = BN + T::kPad;
  const int tid = int(dev::thread_rank()), tx = tid & 15, ty = tid >> 4;
  const dev::Smem<float> as = dev::shared_at<float>(0), bs = dev::shared_at<float>(size_t(BK) * lda_s * sizeof(float));
  float acc[4][4] = {};
  for (int k0 = 0; k0 < p.K; k0 += BK) {
    gemm_f32_load_tile<BM, !TA>(as, p.A, p.lda, p.M, p.K, m0, k0, tid);  // A stored M x K is k-contiguous
    gemm_f32_load_tile<BN, TB>(bs, p.B, p.ldb, p.N, p.K, n0, k0, tid);   // B stored N x K is k-contiguous
    dev::sync_block();
#pragma unroll
    for (int k = 0; k < BK; ++k) {
      float a[4], b[4];
#pragma unroll
      for (int i = 0; i < 4; ++i) a[i] = as.ld(k * lda_s + ty + 16 * i);
#pragma unroll
      for (int j = 0; j < 4; ++j) b[j] = bs.ld(k * ldb_s + tx + 16 * j);
#pragma unroll
      for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int j = 0; j < 4; ++j) acc[i][j] = dev::fma(a[i], b[j], acc[i][j]);
    }
    dev::sync_block();
  }
#pragma unroll
  for (int i = 0; i < 4; ++i)
#pragma unroll
    for (int j = 0; j < 4; ++j) gemm_store<float, Sym, P>(p, m0 + ty + 16 * i, n0 + tx + 16 * j, acc[i][j]);
}

template <bool TA, bool TB>
MT_DEVICE void gemm_f32_body(const GemmArgs<float>& p) {
  gemm_f32_tile<TA, TB>(p, int(dev::block_idx().y) * GemmF32Tile::BM, int(dev::block_idx().x) * GemmF32Tile::BN);
}

template <class Launch>
void gemm_f32_dispatch(const GemmArgs<float>& p, bool ta, bool tb, Launch&& launch) {
  const dev::Dim3 grid{ceil_div(p.N, GemmF32Tile::BN), ceil_div(p.M, GemmF32Tile::BM), 1};
  const dev::Dim3 block{GemmF32Tile::kThreads, 1, 1};
  with_flags(ta, tb, false, [&](auto TA, auto TB, auto) { launch(TA, TB, grid, block, GemmF32Tile::kSmemBytes); });
}

}  // namespace mt::kern
