// The grouped GEMMs of the MoE experts. The rows of x are sorted by group; group e owns sizes[e]
// consecutive rows. The sizes stay in device memory (an i32 tensor): the host never reads them.
//   grouped matmul:       out[rows of e] = x_e · op(w[e]) (+ add)
//   grouped weight grad:  out[e] = x_eᵀ · dy_e (zeros for an empty group)
// A one-block schedule kernel turns the sizes into row offsets and row-tile offsets (exclusive
// prefix sums, E + 1 of each). The matmul's grid has one block per possible row tile, a bound the
// host knows without the sizes (min(T, ceil(T / 64) + E)); each block finds its group by binary
// search over the tile offsets and returns at once when it is past the last tile. The weight
// gradient has one grid layer per group; an empty group's K loop is empty and its tiles are zeros.
// Both reuse the dense GEMMs' tiles (gemm_tile.cuh) on the group's rows.
#pragma once

#include "gemm_tile.cuh"

namespace mt::kern {

struct GroupSchedule {
  static constexpr int kThreads = 256;
  static constexpr size_t kSmemBytes = 2 * kThreads * sizeof(int32_t);
};

// offsets[e] = sizes[0] + ... + sizes[e - 1] and tiles[e] = the same sum of ceil(sizes / 64), for
// e = 0..groups. One block; chunks of kThreads groups, each an inclusive scan in shared memory.
template <Plant P = Plant::None>
MT_DEVICE void group_schedule_body(const int32_t* sizes, int groups, int32_t* offsets, int32_t* tiles) {
  constexpr int N = GroupSchedule::kThreads;
  const int tid = int(dev::thread_rank());
  const dev::Smem<int32_t> rs = dev::shared_at<int32_t>(0), ts = dev::shared_at<int32_t>(N * sizeof(int32_t));
  int32_t carry_rows = 0, carry_tiles = 0;
  for (int base = 0; base < groups; base += N) {
    const int32_t g = base + tid < groups ? sizes[base + tid] : 0;
    const int32_t t = (g + (P == Plant::GroupTiles ? 0 : kGemmTileM - 1)) / kGemmTileM;
    int32_t r_sum = g, t_sum = t;
    for (int d = 1; d < N; d <<= 1) {
      rs.st(tid, r_sum);
      ts.st(tid, t_sum);
      dev::sync_block();
      if (tid >= d) r_sum += rs.ld(tid - d), t_sum += ts.ld(tid - d);
      dev::sync_block();
    }
    rs.st(tid, r_sum);
    ts.st(tid, t_sum);
    dev::sync_block();
    const int32_t chunk_rows = rs.ld(N - 1), chunk_tiles = ts.ld(N - 1);
    dev::sync_block();
    if (base + tid < groups) offsets[base + tid] = carry_rows + r_sum - g, tiles[base + tid] = carry_tiles + t_sum - t;
    carry_rows += chunk_rows;
    carry_tiles += chunk_tiles;
  }
  if (tid == 0) offsets[groups] = carry_rows, tiles[groups] = carry_tiles;
}

template <class T>
struct GroupedGemmArgs {
  // The whole problem. Grouped matmul: A = x (rows x K), B = w[0] (K x N, or N x K), C = out
  // (rows x N), D = add or null; M is unused. Weight grad: A = x (rows x M, read transposed),
  // B = dy (rows x N), C = out[0] (M x N); K is unused.
  GemmArgs<T> g;
  int64_t stride_b = 0;              // grouped matmul: elements between consecutive groups' weights
  int64_t stride_c = 0;              // weight grad: elements between consecutive groups' outputs
  const int32_t* offsets = nullptr;  // groups + 1 row offsets (group_schedule_body)
  const int32_t* tiles = nullptr;    // groups + 1 row-tile offsets (grouped matmul)
  int groups = 0;
  int group0 = 0;  // weight grad: the group of grid layer 0 (launches of at most kMaxGridZ layers)
};

template <class T, bool TB, bool Aligned, Plant P = Plant::None>
MT_DEVICE void grouped_matmul_body(const GroupedGemmArgs<T>& a) {
  const int slot = int(dev::block_idx().x);
  if (slot >= a.tiles[a.groups]) return;  // past the last row tile: the whole block leaves
  int lo = 0, hi = a.groups;               // tiles[lo] <= slot < tiles[hi]
  while (hi - lo > 1) {
    const int mid = (lo + hi) / 2;
    if (a.tiles[mid] <= slot) lo = mid;
    else hi = mid;
  }
  const int64_t row0 = a.offsets[lo];
  GemmArgs<T> p = a.g;
  p.M = int(a.offsets[lo + 1] - row0);
  p.A += row0 * p.lda;
  p.B += lo * a.stride_b;
  p.C += row0 * p.ldc;
  if (p.D) p.D += row0 * p.ldd;
  gemm_tile<T, false, TB, Aligned, P, false>(p, (slot - a.tiles[lo]) * kGemmTileM, int(dev::block_idx().y) * kGemmTileN);
}

template <class T, bool Aligned, Plant P = Plant::None>
MT_DEVICE void grouped_weight_grad_body(const GroupedGemmArgs<T>& a) {
  const int e = a.group0 + int(dev::block_idx().z);
  const int64_t row0 = a.offsets[e];
  GemmArgs<T> p = a.g;
  p.K = int(a.offsets[e + 1] - row0) + (P == Plant::GroupEdge ? 1 : 0);
  p.A += row0 * p.lda;
  p.B += row0 * p.ldb;
  p.C += e * a.stride_c;
  gemm_tile<T, true, false, Aligned, P, false>(p, int(dev::block_idx().y) * kGemmTileM, int(dev::block_idx().x) * kGemmTileN);
}

// Launch geometry, through launch(flags..., grid, block, smem_bytes, args) once per launch.
template <class Launch>
void group_schedule_dispatch(Launch&& launch) {
  launch(dev::Dim3{1, 1, 1}, dev::Dim3{GroupSchedule::kThreads, 1, 1}, GroupSchedule::kSmemBytes);
}

// rows: x's rows (the sum of the sizes). Nothing to launch when rows or N is 0.
template <class T, class Launch>
void grouped_matmul_dispatch(const GroupedGemmArgs<T>& a, int64_t rows, bool tb, Launch&& launch) {
  const int64_t bound = (rows + kGemmTileM - 1) / kGemmTileM + a.groups, slots = rows < bound ? rows : bound;
  if (slots == 0 || a.g.N == 0) return;
  const dev::Dim3 grid{unsigned(slots), ceil_div(a.g.N, kGemmTileN), 1}, block{GemmTileShape<T>::kThreads, 1, 1};
  with_bool(tb, [&](auto TB) {
    with_aligned<T>(gemm_tiles_aligned(a.g, false, tb, 0, a.stride_b), [&](auto AL) { launch(TB, AL, grid, block, GemmTileShape<T>::kSmemBytes, a); });
  });
}

template <class T, class Launch>
void grouped_weight_grad_dispatch(const GroupedGemmArgs<T>& a, Launch&& launch) {
  if (a.g.M == 0 || a.g.N == 0) return;
  const dev::Dim3 block{GemmTileShape<T>::kThreads, 1, 1};
  const bool aligned = gemm_tiles_aligned(a.g, true, false);
  for (int e0 = 0; e0 < a.groups; e0 += int(kMaxGridZ)) {
    GroupedGemmArgs<T> part = a;
    part.group0 = e0;
    const dev::Dim3 grid{ceil_div(a.g.N, kGemmTileN), ceil_div(a.g.M, kGemmTileM), unsigned(a.groups - e0 < int(kMaxGridZ) ? a.groups - e0 : int(kMaxGridZ))};
    with_aligned<T>(aligned, [&](auto AL) { launch(AL, grid, block, GemmTileShape<T>::kSmemBytes, part); });
  }
}

}  // namespace mt::kern
