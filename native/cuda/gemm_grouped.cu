// The __global__ entries of the grouped GEMMs and their schedule (bodies in
// kernels/gemm_grouped.cuh), and their launches.
#include "gemm.h"
#include "launch.h"

namespace mt::cuda {
namespace {

__global__ void __launch_bounds__(kern::GroupSchedule::kThreads) group_schedule_kernel(const int32_t* sizes, int groups, int32_t* offsets, int32_t* tiles) {
  kern::group_schedule_body(sizes, groups, offsets, tiles);
}

template <class T, bool TB, bool AL>
__global__ void __launch_bounds__(kern::GemmTileShape<T>::kThreads) grouped_matmul_kernel(kern::GroupedGemmArgs<T> a) {
  kern::grouped_matmul_body<T, TB, AL>(a);
}

template <class T, bool AL>
__global__ void __launch_bounds__(kern::GemmTileShape<T>::kThreads) grouped_weight_grad_kernel(kern::GroupedGemmArgs<T> a) {
  kern::grouped_weight_grad_body<T, AL>(a);
}

}  // namespace

cudaError_t group_schedule(const int32_t* sizes, int groups, int32_t* offsets, int32_t* tiles, cudaStream_t stream) {
  kern::group_schedule_dispatch([&](dev::Dim3 grid, dev::Dim3 block, size_t smem) {
    launch_kernel("group_schedule_kernel", group_schedule_kernel, to_dim3(grid), to_dim3(block), smem, stream, sizes, groups, offsets, tiles);
  });
  return cudaGetLastError();
}

template <class T>
cudaError_t grouped_matmul_gemm(const kern::GroupedGemmArgs<T>& a, int64_t rows, bool trans_b, cudaStream_t stream) {
  kern::grouped_matmul_dispatch(a, rows, trans_b, [&](auto TB, auto AL, dev::Dim3 grid, dev::Dim3 block, size_t smem, const kern::GroupedGemmArgs<T>& part) {
    launch_kernel("grouped_matmul_kernel", grouped_matmul_kernel<T, decltype(TB)::value, decltype(AL)::value>, to_dim3(grid), to_dim3(block), smem, stream, part);
  });
  return cudaGetLastError();
}

template <class T>
cudaError_t grouped_weight_grad_gemm(const kern::GroupedGemmArgs<T>& a, cudaStream_t stream) {
  kern::grouped_weight_grad_dispatch(a, [&](auto AL, dev::Dim3 grid, dev::Dim3 block, size_t smem, const kern::GroupedGemmArgs<T>& part) {
    launch_kernel("grouped_weight_grad_kernel", grouped_weight_grad_kernel<T, decltype(AL)::value>, to_dim3(grid), to_dim3(block), smem, stream, part);
  });
  return cudaGetLastError();
}

template cudaError_t grouped_matmul_gemm<float>(const kern::GroupedGemmArgs<float>&, int64_t, bool, cudaStream_t);
template cudaError_t grouped_matmul_gemm<uint16_t>(const kern::GroupedGemmArgs<uint16_t>&, int64_t, bool, cudaStream_t);
template cudaError_t grouped_weight_grad_gemm<float>(const kern::GroupedGemmArgs<float>&, cudaStream_t);
template cudaError_t grouped_weight_grad_gemm<uint16_t>(const kern::GroupedGemmArgs<uint16_t>&, cudaStream_t);

}  // namespace mt::cuda
