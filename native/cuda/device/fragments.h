// Where the elements of warp-collective operands live, as the PTX ISA documents them. The kernels'
// index math and the emulator's implementation of mma.sync and ldmatrix use these same functions,
// and the probes (native/cuda/probes) check them against a real GPU.
#pragma once

#if defined(__CUDACC__)
#define MT_HD __host__ __device__ __forceinline__
#else
#define MT_HD inline
#endif

namespace mt::frag {

struct RowCol {
  int row, col;
};

MT_HD constexpr int group_of(int lane) { return lane >> 2; }   // g: the lane's quad
MT_HD constexpr int thread_in_group(int lane) { return lane & 3; }  // t

// mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32. Element i of a lane's fragment; register
// r holds elements 2r (low 16 bits) and 2r+1 (high 16 bits) for A and B.
// A (16x16, row = m, col = k): 8 elements per lane.
MT_HD constexpr RowCol mma_a(int lane, int i) {
  return {group_of(lane) + 8 * ((i >> 1) & 1), 2 * thread_in_group(lane) + (i & 1) + 8 * (i >> 2)};
}
// B (16x8, row = k, col = n): 4 elements per lane.
MT_HD constexpr RowCol mma_b(int lane, int i) {
  return {2 * thread_in_group(lane) + (i & 1) + 8 * (i >> 1), group_of(lane)};
}
// C and D (16x8, row = m, col = n): 4 f32 per lane.
MT_HD constexpr RowCol mma_c(int lane, int i) {
  return {group_of(lane) + 8 * (i >> 1), 2 * thread_in_group(lane) + (i & 1)};
}

// ldmatrix.sync.aligned.m8n8.x{1,2,4}[.trans].shared.b16: lanes 8j..8j+7 give the addresses of
// rows 0..7 of matrix j; every lane receives one 32-bit register per matrix holding two b16
// elements (h = 0 low half, h = 1 high half). Element (row, col) of matrix j, as it sits in memory.
MT_HD constexpr RowCol ldmatrix(int lane, int h, bool trans) {
  return trans ? RowCol{2 * thread_in_group(lane) + h, group_of(lane)}
               : RowCol{group_of(lane), 2 * thread_in_group(lane) + h};
}
MT_HD constexpr int ldmatrix_address_lane(int matrix, int row) { return 8 * matrix + row; }

// Address maps for ldmatrix.x4 over a 16x16 b16 tile in shared memory (row, first column of the 8
// columns the lane's address points at). Matrices 0..3 are the lanes' groups of eight.
// Tile pattern "row quads": matrices (rows 0-7, cols 0-7), (rows 8-15, cols 0-7), (rows 0-7, cols
// 8-15), (rows 8-15, cols 8-15). With a tile A[m][k] (k contiguous) and no .trans these are A's
// registers 0..3; with a tile B[k][n] (n contiguous) and .trans they are B's registers for two
// n8 tiles: (b0, b1) of n 0-7, then (b0, b1) of n 8-15.
MT_HD constexpr RowCol x4_rows_first(int lane) { return {lane & 15, 8 * (lane >> 4)}; }
// Tile pattern "column pairs": matrices (rows 0-7, cols 0-7), (rows 0-7, cols 8-15), (rows 8-15,
// cols 0-7), (rows 8-15, cols 8-15). With a tile B[n][k] (k contiguous) and no .trans they are B's
// registers for two n8 tiles; with a tile A[k][m] (m contiguous) and .trans, A's registers 0..3.
MT_HD constexpr RowCol x4_cols_first(int lane) { return {(lane & 7) + 8 * (lane >> 4), 8 * ((lane >> 3) & 1)}; }

// The tile element (row, col) that ldmatrix.x4 with the given address map delivers to (lane,
// matrix j, half h).
MT_HD constexpr RowCol x4_element(bool rows_first, bool trans, int lane, int j, int h) {
  const RowCol in = ldmatrix(lane, h, trans);
  const RowCol base = rows_first ? x4_rows_first(ldmatrix_address_lane(j, 0)) : x4_cols_first(ldmatrix_address_lane(j, 0));
  return {base.row + in.row, base.col + in.col};
}

// ---- compile-time checks of the maps ----
namespace check {
constexpr bool mma_a_bijective() {
  bool seen[16][16] = {};
  for (int lane = 0; lane < 32; ++lane)
    for (int i = 0; i < 8; ++i) {
      const RowCol e = mma_a(lane, i);
      if (e.row < 0 || e.row >= 16 || e.col < 0 || e.col >= 16 || seen[e.row][e.col]) return false;
      seen[e.row][e.col] = true;
    }
  return true;
}
constexpr bool mma_b_bijective() {
  bool seen[16][8] = {};
  for (int lane = 0; lane < 32; ++lane)
    for (int i = 0; i < 4; ++i) {
      const RowCol e = mma_b(lane, i);
      if (e.row < 0 || e.row >= 16 || e.col < 0 || e.col >= 8 || seen[e.row][e.col]) return false;
      seen[e.row][e.col] = true;
    }
  return true;
}
constexpr bool mma_c_bijective() {
  bool seen[16][8] = {};
  for (int lane = 0; lane < 32; ++lane)
    for (int i = 0; i < 4; ++i) {
      const RowCol e = mma_c(lane, i);
      if (e.row < 0 || e.row >= 16 || e.col < 0 || e.col >= 8 || seen[e.row][e.col]) return false;
      seen[e.row][e.col] = true;
    }
  return true;
}
constexpr bool ldmatrix_bijective(bool trans) {
  bool seen[8][8] = {};
  for (int lane = 0; lane < 32; ++lane)
    for (int h = 0; h < 2; ++h) {
      const RowCol e = ldmatrix(lane, h, trans);
      if (e.row < 0 || e.row >= 8 || e.col < 0 || e.col >= 8 || seen[e.row][e.col]) return false;
      seen[e.row][e.col] = true;
    }
  return true;
}
// ldmatrix.x4 (rows first, no .trans) over A[m][k] gives exactly the A fragment, register j = matrix j.
constexpr bool x4_composes_into_a() {
  for (int lane = 0; lane < 32; ++lane)
    for (int j = 0; j < 4; ++j)
      for (int h = 0; h < 2; ++h) {
        const RowCol got = x4_element(true, false, lane, j, h), want = mma_a(lane, 2 * j + h);
        if (got.row != want.row || got.col != want.col) return false;
      }
  return true;
}
// ldmatrix.x4.trans (columns first) over A[k][m] gives the A fragment, register j = matrix j.
constexpr bool x4_trans_composes_into_a() {
  for (int lane = 0; lane < 32; ++lane)
    for (int j = 0; j < 4; ++j)
      for (int h = 0; h < 2; ++h) {
        const RowCol got = x4_element(false, true, lane, j, h), want = mma_a(lane, 2 * j + h);
        if (got.row != want.col || got.col != want.row) return false;  // the tile is A transposed
      }
  return true;
}
// ldmatrix.x4.trans (rows first) over B[k][n]: matrices 0,1 are the B fragment of n 0-7, 2,3 of n 8-15.
constexpr bool x4_trans_composes_into_b() {
  for (int lane = 0; lane < 32; ++lane)
    for (int j = 0; j < 4; ++j)
      for (int h = 0; h < 2; ++h) {
        const RowCol got = x4_element(true, true, lane, j, h);
        const RowCol want = mma_b(lane, 2 * (j & 1) + h);
        if (got.row != want.row || got.col != want.col + 8 * (j >> 1)) return false;
      }
  return true;
}
// ldmatrix.x4 (columns first, no .trans) over B[n][k]: the same registers.
constexpr bool x4_composes_into_b_transposed() {
  for (int lane = 0; lane < 32; ++lane)
    for (int j = 0; j < 4; ++j)
      for (int h = 0; h < 2; ++h) {
        const RowCol got = x4_element(false, false, lane, j, h);
        const RowCol want = mma_b(lane, 2 * (j & 1) + h);
        if (got.col != want.row || got.row != want.col + 8 * (j >> 1)) return false;
      }
  return true;
}
}  // namespace check

static_assert(check::mma_a_bijective(), "mma A fragment map must cover the 16x16 tile once");
static_assert(check::mma_b_bijective(), "mma B fragment map must cover the 16x8 tile once");
static_assert(check::mma_c_bijective(), "mma C fragment map must cover the 16x8 tile once");
static_assert(check::ldmatrix_bijective(false) && check::ldmatrix_bijective(true), "ldmatrix must cover each 8x8 matrix once");
static_assert(check::x4_composes_into_a(), "ldmatrix.x4 over A[m][k] must give the A fragment");
static_assert(check::x4_trans_composes_into_a(), "ldmatrix.x4.trans over A[k][m] must give the A fragment");
static_assert(check::x4_trans_composes_into_b(), "ldmatrix.x4.trans over B[k][n] must give two B fragments");
static_assert(check::x4_composes_into_b_transposed(), "ldmatrix.x4 over B[n][k] must give two B fragments");

}  // namespace mt::frag
