// One output tile of either GEMM, by element type: bf16 (uint16_t) on mma.sync, f32 on FFMA. The
// grouped and batched GEMMs are written once over it.
#pragma once

#include <type_traits>

#include "gemm_bf16.cuh"
#include "gemm_f32.cuh"

namespace mt::kern {

static_assert(GemmBf16Tile::BM == GemmF32Tile::BM && GemmBf16Tile::BN == GemmF32Tile::BN, "one tile size for both GEMMs");
constexpr int kGemmTileM = GemmBf16Tile::BM, kGemmTileN = GemmBf16Tile::BN;
constexpr unsigned kMaxGridZ = 65535;  // grid layers per launch

template <class T>
struct GemmTileShape {
  static constexpr int kThreads = std::is_same<T, uint16_t>::value ? GemmBf16Tile::kThreads : GemmF32Tile::kThreads;
  static constexpr size_t kSmemBytes = std::is_same<T, uint16_t>::value ? GemmBf16Tile::kSmemBytes : GemmF32Tile::kSmemBytes;
};

// Aligned selects the bf16 kernel's cp.async path (the f32 kernel has one path).
template <class T, bool TA, bool TB, bool Aligned, Plant P, bool Sym>
MT_DEVICE void gemm_tile(const GemmArgs<T>& p, int m0, int n0) {
  if constexpr (std::is_same<T, uint16_t>::value) gemm_bf16_tile<TA, TB, Aligned, P, Sym>(p, m0, n0);
  else gemm_f32_tile<TA, TB, P, Sym>(p, m0, n0);
}

// f(bool_constant<b>).
template <class F>
void with_bool(bool b, F&& f) {
  if (b) f(std::true_type{});
  else f(std::false_type{});
}

// f(bool_constant<aligned>) for bf16; f(false_type) for f32, whose tile has one load path (so
// no second f32 kernel is instantiated).
template <class T, class F>
void with_aligned(bool aligned, F&& f) {
  if constexpr (std::is_same<T, uint16_t>::value) with_bool(aligned, f);
  else f(std::false_type{});
}

// Can the bf16 tiles be filled by cp.async (gemm_bf16_aligned), also for every problem of a batch
// whose operands start stride_a / stride_b elements apart? Always false for f32.
template <class T>
bool gemm_tiles_aligned(const GemmArgs<T>& p, bool ta, bool tb, int64_t stride_a = 0, int64_t stride_b = 0) {
  if constexpr (std::is_same<T, uint16_t>::value) return gemm_bf16_aligned(p, ta, tb) && stride_a % 8 == 0 && stride_b % 8 == 0;
  else return false;
}

}  // namespace mt::kern
