// bf16 GEMM with f32 accumulation on mma.sync.m16n8k16: 64x64 block tiles, 4 warps of 32x32,
// K in steps of 32 through a two-stage shared-memory pipeline filled by cp.async (16-byte copies,
// zero-filled past the edges) when every row of A and B starts 16-byte aligned, by ordinary loads
// otherwise; fragments come from shared memory by ldmatrix (.trans where the tile is stored
// k-minor for A or n-minor for B). Rows are padded by 16 bytes so ldmatrix's eight row addresses
// fall in different banks.
#pragma once

#include "gemm_common.cuh"

namespace mt::kern {

struct GemmBf16Tile {
  static constexpr int BM = 64, BN = 64, BK = 32, kPad = 8, kThreads = 128;
  static_assert(BM == BN, "one tile size serves A and B");
  // Elements of one operand's tile, the larger of [BM][BK + pad] and [BK][BM + pad].
  static constexpr int kTileElems = BM * (BK + kPad) > BK * (BM + kPad) ? BM * (BK + kPad) : BK * (BM + kPad);
  static constexpr int kStages = 2;
  static constexpr size_t kSmemBytes = size_t(kStages) * 2 * kTileElems * sizeof(uint16_t);
};

// Can the tiles be filled by 16-byte cp.async? Every row start 16-byte aligned and the stored
// rows a whole number of 16-byte chunks (a chunk is then wholly inside or wholly outside).
inline bool gemm_bf16_aligned(const GemmArgs<uint16_t>& p, bool ta, bool tb) {
  const auto al = [](const void* q) { return reinterpret_cast<uintptr_t>(q) % 16 == 0; };
  const int a_cols = ta ? p.M : p.K, b_cols = tb ? p.K : p.N;
  return al(p.A) && al(p.B) && p.lda % 8 == 0 && p.ldb % 8 == 0 && a_cols % 8 == 0 && b_cols % 8 == 0;
}

// Fills a tile_rows x tile_cols tile (row stride ld_s) from the stored matrix src (rows x cols,
// row stride ld) at (r0, c0); zeros outside the matrix.
template <int TileRows, int TileCols, bool Aligned, Plant P>
MT_DEVICE void gemm_bf16_load_tile(dev::Smem<uint16_t> dst, int ld_s, const uint16_t* src, int ld, int rows, int cols, int r0, int c0,
                                   int tid) {
  if constexpr (Aligned) {
    constexpr int kChunksPerRow = TileCols / 8;
    for (int c = tid; c < TileRows * kChunksPerRow; c += GemmBf16Tile::kThreads) {
      const int r = c / kChunksPerRow, cc = (c % kChunksPerRow) * 8;
      const int gr = r0 + r, gc = c0 + cc;
      const bool ok = gr < rows && (P == Plant::TileEdge ? gc <= cols : gc < cols);
      const uint16_t* from = ok ? src + int64_t(gr) * ld + gc : src;
      dev::cp_async_16(dst.at(r * ld_s + cc), from, ok ? 16 : 0);
    }
  } else {
    for (int e = tid; e < TileRows * TileCols; e += GemmBf16Tile::kThreads) {
      const int r = e / TileCols, c = e % TileCols;
      const int gr = r0 + r, gc = c0 + c;
      const bool ok = gr < rows && (P == Plant::TileEdge ? gc <= cols : gc < cols);
      dst.st(r * ld_s + c, ok ? src[int64_t(gr) * ld + gc] : uint16_t(0));
    }
  }
}

// The output tile at (m0, n0), computed by the whole block (the grouped and batched GEMMs pick
// the tile and the problem, gemm_bf16_body the dense case).
template <bool TA, bool TB, bool Aligned, Plant P = Plant::None, bool Sym = false>
MT_DEVICE void gemm_bf16_tile(const GemmArgs<uint16_t>& p, int m0, int n0) {
  using T = GemmBf16Tile;
  constexpr int BM = T::BM, BN = T::BN, BK = T::BK;
  constexpr int lda_s = TA ? BM + T::kPad : BK + T::kPad;  // A tile: [BK][BM] if transposed, else [BM][BK]
  constexpr int ldb_s = TB ? BK + T::kPad : BN + T::kPad;  // B tile: [BN][BK] if transposed, else [BK][BN]
  const int tid = int(dev::thread_rank()), lane = tid & 31, warp = tid >> 5;
  const int wm = (warp >> 1) * 32, wn = (warp & 1) * 32;
  const auto a_tile = [](int s) { return dev::shared_at<uint16_t>(size_t(2 * s) * T::kTileElems * sizeof(uint16_t)); };
  const auto b_tile = [](int s) { return dev::shared_at<uint16_t>(size_t(2 * s + 1) * T::kTileElems * sizeof(uint16_t)); };

  const auto load = [&](int kt, int s) {
    const int k0 = kt * BK;
    if constexpr (TA) gemm_bf16_load_tile<BK, BM, Aligned, P>(a_tile(s), lda_s, p.A, p.lda, p.K, p.M, k0, m0, tid);
    else gemm_bf16_load_tile<BM, BK, Aligned, P>(a_tile(s), lda_s, p.A, p.lda, p.M, p.K, m0, k0, tid);
    if constexpr (TB) gemm_bf16_load_tile<BN, BK, Aligned, P>(b_tile(s), ldb_s, p.B, p.ldb, p.N, p.K, n0, k0, tid);
    else gemm_bf16_load_tile<BK, BN, Aligned, P>(b_tile(s), ldb_s, p.B, p.ldb, p.K, p.N, k0, n0, tid);
    dev::cp_async_commit();
  };

  float acc[2][4][4];
  for (int mi = 0; mi < 2; ++mi)
    for (int ni = 0; ni < 4; ++ni)
      for (int i = 0; i < 4; ++i) acc[mi][ni][i] = 0.f;

  const int ktiles = int(ceil_div(p.K, BK));
  if (ktiles > 0) load(0, 0);
  for (int kt = 0; kt < ktiles; ++kt) {
    const int s = kt & 1;
    if (kt + 1 < ktiles) {
      load(kt + 1, s ^ 1);
      dev::cp_async_wait<1>();
    } else {
      dev::cp_async_wait<0>();
    }
    dev::sync_block();
    const dev::Smem<uint16_t> as = a_tile(s), bs = b_tile(s);
#pragma unroll
    for (int kk = 0; kk < BK; kk += 16) {
      uint32_t a[2][4], b[4][2];
#pragma unroll
      for (int mi = 0; mi < 2; ++mi) {
        if constexpr (TA) {
          const frag::RowCol rc = frag::x4_cols_first(lane);  // (k, m) in the tile
          dev::ldmatrix<4, true>(a[mi], as.at((kk + rc.row) * lda_s + wm + mi * 16 + rc.col));
        } else {
          const frag::RowCol rc = frag::x4_rows_first(lane);  // (m, k)
          dev::ldmatrix<4, false>(a[mi], as.at((wm + mi * 16 + rc.row) * lda_s + kk + rc.col));
        }
      }
#pragma unroll
      for (int nj = 0; nj < 2; ++nj) {
        uint32_t r[4];
        if constexpr (TB) {
          const frag::RowCol rc = frag::x4_cols_first(lane);  // (n, k)
          dev::ldmatrix<4, false>(r, bs.at((wn + nj * 16 + rc.row) * ldb_s + kk + rc.col));
        } else {
          const frag::RowCol rc = frag::x4_rows_first(lane);  // (k, n)
          dev::ldmatrix<4, true>(r, bs.at((kk + rc.row) * ldb_s + wn + nj * 16 + rc.col));
        }
        b[2 * nj][0] = r[0];
        b[2 * nj][1] = r[1];
        b[2 * nj + 1][0] = r[2];
        b[2 * nj + 1][1] = r[3];
      }
#pragma unroll
      for (int mi = 0; mi < 2; ++mi)
#pragma unroll
        for (int ni = 0; ni < 4; ++ni) dev::mma_bf16_16816(acc[mi][ni], a[mi], b[ni], acc[mi][ni]);
    }
    if constexpr (P != Plant::MissingBarrier) dev::sync_block();  // the next load overwrites this stage
  }

#pragma unroll
  for (int mi = 0; mi < 2; ++mi)
#pragma unroll
    for (int ni = 0; ni < 4; ++ni)
#pragma unroll
      for (int i = 0; i < 4; ++i) {
        const frag::RowCol rc = frag::mma_c(lane, P == Plant::FragmentIndex ? i ^ 1 : i);
        gemm_store<uint16_t, Sym, P>(p, m0 + wm + mi * 16 + rc.row, n0 + wn + ni * 8 + rc.col, acc[mi][ni][i]);
      }
}

template <bool TA, bool TB, bool Aligned, Plant P = Plant::None>
MT_DEVICE void gemm_bf16_body(const GemmArgs<uint16_t>& p) {
  gemm_bf16_tile<TA, TB, Aligned, P>(p, int(dev::block_idx().y) * GemmBf16Tile::BM, int(dev::block_idx().x) * GemmBf16Tile::BN);
}

// Launches through launch(kernel_flags..., grid, block, smem_bytes) for the case at hand.
template <class Launch>
void gemm_bf16_dispatch(const GemmArgs<uint16_t>& p, bool ta, bool tb, Launch&& launch) {
  const dev::Dim3 grid{ceil_div(p.N, GemmBf16Tile::BN), ceil_div(p.M, GemmBf16Tile::BM), 1};
  const dev::Dim3 block{GemmBf16Tile::kThreads, 1, 1};
  with_flags(ta, tb, gemm_bf16_aligned(p, ta, tb), [&](auto TA, auto TB, auto AL) { launch(TA, TB, AL, grid, block, GemmBf16Tile::kSmemBytes); });
}

}  // namespace mt::kern
