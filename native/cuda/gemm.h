// The GEMMs on the GPU, on the caller's stream: the dense GEMM C = op(A) * op(B) (+ D), the MoE
// experts' grouped GEMMs and the batched GEMMs of Newton–Schulz. bf16 runs on mma.sync (f32
// accumulation), f32 on FFMA. Each returns the launch's error (cudaGetLastError).
#pragma once

#include <cuda_runtime.h>

#include "kernels/gemm_batched.cuh"
#include "kernels/gemm_grouped.cuh"

namespace mt::cuda {

cudaError_t gemm_bf16(const kern::GemmArgs<uint16_t>& p, bool trans_a, bool trans_b, cudaStream_t stream);
cudaError_t gemm_f32(const kern::GemmArgs<float>& p, bool trans_a, bool trans_b, cudaStream_t stream);

// Row and row-tile offsets of `groups` groups from their sizes (device memory, groups + 1 each).
cudaError_t group_schedule(const int32_t* sizes, int groups, int32_t* offsets, int32_t* tiles, cudaStream_t stream);
// T is float or uint16_t (bf16); rows: x's rows (gemm_grouped.cu).
template <class T>
cudaError_t grouped_matmul_gemm(const kern::GroupedGemmArgs<T>& a, int64_t rows, bool trans_b, cudaStream_t stream);
template <class T>
cudaError_t grouped_weight_grad_gemm(const kern::GroupedGemmArgs<T>& a, cudaStream_t stream);
// (gemm_batched.cu)
template <class T>
cudaError_t batched_gemm(const kern::BatchedGemmArgs<T>& a, int64_t batch, bool sym, cudaStream_t stream);

}  // namespace mt::cuda
