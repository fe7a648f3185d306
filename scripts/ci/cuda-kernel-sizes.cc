// Prints each CUDA kernel's launch shape (threads per block, dynamic shared memory) for the build
// report written by scripts/ci/cuda-gates.js; compiled with the host C++ compiler.
#include <cstdio>

#include "../../native/cuda/kernels/attention.cuh"
#include "../../native/cuda/kernels/elementwise.cuh"
#include "../../native/cuda/kernels/gemm_bf16.cuh"
#include "../../native/cuda/kernels/gemm_f32.cuh"
#include "../../native/cuda/kernels/moe_permute.cuh"
#include "../../native/cuda/kernels/moe_route.cuh"
#include "../../native/cuda/kernels/gemm_grouped.cuh"
#include "../../native/cuda/probes/probes.cuh"

int main() {
  std::printf("gemm_bf16_kernel %d %zu\n", mt::kern::GemmBf16Tile::kThreads, mt::kern::GemmBf16Tile::kSmemBytes);
  std::printf("gemm_f32_kernel %d %zu\n", mt::kern::GemmF32Tile::kThreads, mt::kern::GemmF32Tile::kSmemBytes);
  // The grouped and batched GEMMs run the dense tiles; by element type (the first template
  // argument, spaces as underscores: cuda-gates.js looks a kernel up by its name up to that argument).
  for (const char* k : {"grouped_matmul_kernel", "grouped_weight_grad_kernel", "batched_gemm_kernel"}) {
    std::printf("%s<unsigned_short %d %zu\n", k, mt::kern::GemmBf16Tile::kThreads, mt::kern::GemmBf16Tile::kSmemBytes);
    std::printf("%s<float %d %zu\n", k, mt::kern::GemmF32Tile::kThreads, mt::kern::GemmF32Tile::kSmemBytes);
  }
  std::printf("group_schedule_kernel %d %zu\n", mt::kern::GroupSchedule::kThreads, mt::kern::GroupSchedule::kSmemBytes);
  std::printf("probe_ldmatrix_kernel 32 %zu\n", mt::probe::kLdmatrixSmem);
  std::printf("probe_mma_kernel 32 0\n");
  std::printf("device_layer_check - -\n");  // compiled, never launched
  // The SIMT kernels: elementwise (grid-stride) and row kernels (one block per row).
  for (const char* k : {"map_kernel", "copy_rows_kernel", "adamw_kernel", "muon_momentum_kernel", "muon_apply_kernel", "swiglu_kernel",
                        "swiglu_backward_kernel", "rms_norm_backward_dw_kernel", "rope_kernel", "embedding_kernel", "embedding_backward_kernel",
                        "cross_entropy_grad_kernel", "moe_route_backward_kernel", "seq_aux_f_kernel", "permute_gather_kernel", "inverse_order_kernel",
                        "unpermute_kernel", "unpermute_backward_dys_kernel", "ns_copy_kernel"})
    std::printf("%s %d 0\n", k, mt::kern::Elementwise::kThreads);
  for (const char* k : {"rms_norm_kernel", "rms_norm_backward_dx_kernel", "cross_entropy_kernel", "seq_aux_rows_kernel", "unpermute_backward_dweights_kernel"})
    std::printf("%s %d %zu\n", k, mt::kern::RowBlock::kThreads, mt::kern::RowBlock::kSmemBytes);
  // The MoE kernels: a warp per token (route); blocks of one chunk of slots; the one-block scan.
  std::printf("moe_route_kernel %d 0\n", mt::kern::RouteBlock::kThreads);
  for (const char* k : {"permute_counts_kernel", "permute_scatter_kernel", "seq_aux_counts_kernel"})
    std::printf("%s %d %zu\n", k, mt::kern::ChunkCounts::kThreads, mt::kern::ChunkCounts::kSmemBytes);
  std::printf("permute_scan_kernel %d %zu\n", mt::kern::CountScan::kThreads, mt::kern::CountScan::kSmemBytes);
  for (const char* k : {"ns_norm_partial_kernel", "ns_scale_kernel"}) std::printf("%s %d %zu\n", k, mt::kern::SumSquares::kThreads, mt::kern::SumSquares::kSmemBytes);
  for (const char* k : {"sum_squares_partial_kernel", "sum_partials_kernel"})
    std::printf("%s %d %zu\n", k, mt::kern::SumSquares::kThreads, mt::kern::SumSquares::kSmemBytes);  // compiled, never launched
  // Attention: one block per query or key row; the shared memory grows with the head dims.
  const size_t base = mt::kern::AttentionBlock::layout(0, 0).bytes;
  for (const char* k : {"attention_kernel", "attention_backward_dq_kernel", "attention_backward_dkv_kernel"})
    std::printf("%s %d %zu+8(dk+dv)\n", k, mt::kern::AttentionBlock::kThreads, base);
}
