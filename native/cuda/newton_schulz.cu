// newtonSchulz on the GPU, batched (kernels/newton_schulz.cuh): the norms, the scaled and
// transposed copies, and per step three batched GEMMs, two of them symmetric (one triangle of
// tiles, mirrored). Nothing waits for the device.
#include "../op_types.h"
#include "gemm.h"
#include "kernels/newton_schulz.cuh"
#include "launch.h"

namespace mt::cuda {
namespace {

template <class T>
__global__ void __launch_bounds__(kern::SumSquares::kThreads) ns_norm_partial_kernel(kern::NsNormArgs<T> a) { kern::ns_norm_partial_body(a); }
__global__ void __launch_bounds__(kern::SumSquares::kThreads) ns_scale_kernel(kern::NsScaleArgs a) { kern::ns_scale_body(a); }
template <class T>
__global__ void __launch_bounds__(kern::Elementwise::kThreads) ns_copy_kernel(kern::NsCopyArgs<T> a) { kern::ns_copy_body(a); }

constexpr const char* kOp = "newtonSchulz";

struct Launches {
  template <class T>
  void norm(dev::Dim3 grid, dev::Dim3 block, size_t smem, const kern::NsNormArgs<T>& a) {
    launch(kOp, "ns_norm_partial_kernel", ns_norm_partial_kernel<T>, to_dim3(grid), to_dim3(block), smem, a);
  }
  void scale(dev::Dim3 grid, dev::Dim3 block, size_t smem, const kern::NsScaleArgs& a) {
    launch(kOp, "ns_scale_kernel", ns_scale_kernel, to_dim3(grid), to_dim3(block), smem, a);
  }
  template <class T>
  void copy(dev::Dim3 grid, dev::Dim3 block, const kern::NsCopyArgs<T>& a) {
    launch(kOp, "ns_copy_kernel", ns_copy_kernel<T>, to_dim3(grid), to_dim3(block), 0, a);
  }
  template <class T>
  void gemm(const kern::BatchedGemmArgs<T>& a, int64_t batch, bool sym) {
    check(kOp, batched_gemm(a, batch, sym, nullptr), "launch of batched_gemm_kernel");
  }
};

}  // namespace

Tensor newton_schulz(const Tensor& input, const NewtonSchulzOptions& options) {
  const NewtonSchulzShape shape = newton_schulz_shape(input);
  const int64_t batch = shape.batch, m = shape.m, n = shape.n, r = shape.r, c = shape.c;
  const bool transpose = shape.transpose;
  Tensor out = empty_tensor(input.shape, input.dtype, Device::CUDA);
  if (input.numel() == 0) return out;
  const size_t es = dtype_size(input.dtype), x_bytes = size_t(batch * r * c) * es, a_bytes = size_t(batch * r * r) * es;
  const DeviceBuffer x0(x_bytes), x1(transpose ? x_bytes : es), a(a_bytes), b(a_bytes);
  const DeviceBuffer partial(size_t(batch * kern::ns_chunks(m, n)) * sizeof(double)), scale(size_t(batch) * sizeof(float));
  with_type(input.dtype, [&](auto zero) {
    using E = decltype(zero);
    const kern::NsBuffers<E> w{x0.as<E>(), x1.as<E>(), a.as<E>(), b.as<E>(), partial.as<double>(), scale.as<float>()};
    kern::newton_schulz_launches(input.ptr<E>(), out.ptr<E>(), batch, m, n, options.eps, options.coefficients.data(),
                                 int64_t(options.coefficients.size()), w, Launches{});
  });
  return out;
}

}  // namespace mt::cuda
