// The __global__ entries of the batched GEMMs (bodies in kernels/gemm_batched.cuh) and their launches.
#include "gemm.h"
#include "launch.h"

namespace mt::cuda {
namespace {

template <class T, bool Sym, bool AL>
__global__ void __launch_bounds__(kern::GemmTileShape<T>::kThreads) batched_gemm_kernel(kern::BatchedGemmArgs<T> a) {
  kern::batched_gemm_body<T, Sym, AL>(a);
}

}  // namespace

template <class T>
cudaError_t batched_gemm(const kern::BatchedGemmArgs<T>& a, int64_t batch, bool sym, cudaStream_t stream) {
  kern::batched_gemm_dispatch(a, batch, sym, [&](auto S, auto AL, dev::Dim3 grid, dev::Dim3 block, size_t smem, const kern::BatchedGemmArgs<T>& part) {
    launch_kernel("batched_gemm_kernel", batched_gemm_kernel<T, decltype(S)::value, decltype(AL)::value>, to_dim3(grid), to_dim3(block), smem, stream, part);
  });
  return cudaGetLastError();
}

template cudaError_t batched_gemm<float>(const kern::BatchedGemmArgs<float>&, int64_t, bool, cudaStream_t);
template cudaError_t batched_gemm<uint16_t>(const kern::BatchedGemmArgs<uint16_t>&, int64_t, bool, cudaStream_t);

}  // namespace mt::cuda
