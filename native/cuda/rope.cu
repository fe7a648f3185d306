// Rotary position embedding on the GPU (body in kernels/rope.cuh).
#include "../op_types.h"
#include "kernels/rope.cuh"
#include "launch.h"

namespace mt::cuda {
namespace {

template <class T>
__global__ void __launch_bounds__(kern::Elementwise::kThreads) rope_kernel(kern::RopeArgs<T> a) { kern::rope_body(a); }

}  // namespace

Tensor rope(const Tensor& x, const std::vector<int32_t>& positions, const RopeOptions& options) {
  Tensor out = empty_tensor(x.shape, x.dtype, Device::CUDA);
  const int64_t r = options.rope_dim > 0 ? options.rope_dim : x.shape[2];
  const DeviceBuffer table(kern::rope_table(positions, r, options.theta, options.inverse ? -1.0 : 1.0));
  const int64_t n = x.numel();
  with_type(x.dtype, [&](auto zero) {
    using T = decltype(zero);
    kern::RopeArgs<T> a;
    a.x = x.ptr<T>(), a.out = out.ptr<T>(), a.table = table.as<float>();
    a.tokens = x.shape[0], a.heads = x.shape[1], a.d = x.shape[2], a.r = r;
    a.interleave = options.interleave;
    launch("rope", "rope_kernel", rope_kernel<T>, to_dim3(kern::Elementwise::grid(n)), to_dim3(kern::Elementwise::block()), 0, a);
  });
  return out;
}

}  // namespace mt::cuda
