// The dense GEMMs on the GPU: C = op(A) * op(B) (+ D) on the caller's stream. bf16 runs on
// mma.sync (f32 accumulation), f32 on FFMA. Returns the launch's error (cudaGetLastError).
#pragma once

#include <cuda_runtime.h>

#include "kernels/gemm_common.cuh"

namespace mt::cuda {

cudaError_t gemm_bf16(const kern::GemmArgs<uint16_t>& p, bool trans_a, bool trans_b, cudaStream_t stream);
cudaError_t gemm_f32(const kern::GemmArgs<float>& p, bool trans_a, bool trans_b, cudaStream_t stream);

}  // namespace mt::cuda
