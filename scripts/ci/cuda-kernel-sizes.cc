// Prints each CUDA kernel's launch shape (threads per block, dynamic shared memory) for the build
// report written by scripts/ci/cuda-gates.js; compiled with the host C++ compiler.
#include <cstdio>

#include "../../native/cuda/kernels/gemm_bf16.cuh"
#include "../../native/cuda/kernels/gemm_f32.cuh"
#include "../../native/cuda/probes/probes.cuh"

int main() {
  std::printf("gemm_bf16_kernel %d %zu\n", mt::kern::GemmBf16Tile::kThreads, mt::kern::GemmBf16Tile::kSmemBytes);
  std::printf("gemm_f32_kernel %d %zu\n", mt::kern::GemmF32Tile::kThreads, mt::kern::GemmF32Tile::kSmemBytes);
  std::printf("probe_ldmatrix_kernel 32 %zu\n", mt::probe::kLdmatrixSmem);
  std::printf("probe_mma_kernel 32 0\n");
  std::printf("device_layer_check - -\n");  // compiled, never launched
}
