// The __global__ entries of the GEMM kernels (bodies in kernels/) and their launches.
#include "gemm.h"
#include "kernels/gemm_bf16.cuh"
#include "kernels/gemm_f32.cuh"
#include "launch.h"

namespace mt::cuda {
namespace {

template <bool TA, bool TB, bool Aligned>
__global__ void __launch_bounds__(kern::GemmBf16Tile::kThreads) gemm_bf16_kernel(kern::GemmArgs<uint16_t> p) {
  kern::gemm_bf16_body<TA, TB, Aligned>(p);
}

template <bool TA, bool TB>
__global__ void __launch_bounds__(kern::GemmF32Tile::kThreads) gemm_f32_kernel(kern::GemmArgs<float> p) {
  kern::gemm_f32_body<TA, TB>(p);
}

}  // namespace

cudaError_t gemm_bf16(const kern::GemmArgs<uint16_t>& p, bool trans_a, bool trans_b, cudaStream_t stream) {
  if (p.M == 0 || p.N == 0) return cudaSuccess;
  kern::gemm_bf16_dispatch(p, trans_a, trans_b, [&](auto TA, auto TB, auto AL, dev::Dim3 grid, dev::Dim3 block, size_t smem) {
    launch_kernel("gemm_bf16_kernel", gemm_bf16_kernel<decltype(TA)::value, decltype(TB)::value, decltype(AL)::value>, to_dim3(grid), to_dim3(block), smem, stream, p);
  });
  return cudaGetLastError();
}

cudaError_t gemm_f32(const kern::GemmArgs<float>& p, bool trans_a, bool trans_b, cudaStream_t stream) {
  if (p.M == 0 || p.N == 0) return cudaSuccess;
  kern::gemm_f32_dispatch(p, trans_a, trans_b, [&](auto TA, auto TB, dev::Dim3 grid, dev::Dim3 block, size_t smem) {
    launch_kernel("gemm_f32_kernel", gemm_f32_kernel<decltype(TA)::value, decltype(TB)::value>, to_dim3(grid), to_dim3(block), smem, stream, p);
  });
  return cudaGetLastError();
}

}  // namespace mt::cuda
