// Softmax cross-entropy and its backward on the GPU (bodies in kernels/cross_entropy.cuh). The
// targets live on the host (the op takes them as a vector): they are copied up, and the rows'
// losses copied back and summed in row order.
#include "../op_types.h"
#include "kernels/cross_entropy.cuh"
#include "launch.h"

namespace mt::cuda {
namespace {

using kern::Elementwise;
using kern::RowBlock;

template <class T>
__global__ void __launch_bounds__(RowBlock::kThreads) cross_entropy_kernel(kern::CrossEntropyArgs<T> a) { kern::cross_entropy_body(a); }
template <class T>
__global__ void __launch_bounds__(Elementwise::kThreads) cross_entropy_grad_kernel(kern::CrossEntropyArgs<T> a) { kern::cross_entropy_grad_body(a); }

template <class T>
void launch_grad(const char* op, const kern::CrossEntropyArgs<T>& a) {
  launch(op, "cross_entropy_grad_kernel", cross_entropy_grad_kernel<T>, to_dim3(Elementwise::grid(a.rows * a.V)), to_dim3(Elementwise::block()), 0, a);
}

}  // namespace

CrossEntropyResult cross_entropy(const Tensor& logits, const std::vector<int32_t>& targets, bool grad_in_place) {
  const int64_t T = logits.shape[0], V = logits.shape[1];
  CrossEntropyResult r;
  r.lse = empty_tensor({T}, DType::F32, Device::CUDA);
  if (T == 0) return r;
  for (int32_t t : targets) r.count += t >= 0;
  const DeviceBuffer dtargets(targets);
  DeviceBuffer row_loss(size_t(T) * sizeof(double));
  with_type(logits.dtype, [&](auto zero) {
    using E = decltype(zero);
    kern::CrossEntropyArgs<E> a;
    a.logits = logits.ptr<E>(), a.grad = logits.ptr<E>(), a.targets = dtargets.as<int32_t>(), a.lse = r.lse.ptr<float>();
    a.row_loss = row_loss.as<double>(), a.rows = T, a.V = V, a.scale = r.count > 0 ? 1.0f / float(r.count) : 0.0f;
    launch("crossEntropy", "cross_entropy_kernel", cross_entropy_kernel<E>, unsigned(T), to_dim3(RowBlock::block()), RowBlock::kSmemBytes, a);
    if (grad_in_place) launch_grad("crossEntropy", a);
  });
  std::vector<double> losses(static_cast<size_t>(T));
  cuda_copy(losses.data(), row_loss.as<double>(), losses.size() * sizeof(double), false, true);
  r.loss = kern::mean_loss(losses, targets, &r.count);
  return r;
}

Tensor cross_entropy_backward(const Tensor& logits, const std::vector<int32_t>& targets, const Tensor& lse, float scale) {
  const int64_t T = logits.shape[0], V = logits.shape[1];
  Tensor d = empty_tensor({T, V}, logits.dtype, Device::CUDA);
  const DeviceBuffer dtargets(targets);
  with_type(logits.dtype, [&](auto zero) {
    using E = decltype(zero);
    kern::CrossEntropyArgs<E> a;
    a.logits = logits.ptr<E>(), a.grad = d.ptr<E>(), a.targets = dtargets.as<int32_t>(), a.lse = lse.ptr<float>(), a.rows = T, a.V = V, a.scale = scale;
    launch_grad("crossEntropyBackward", a);
  });
  return d;
}

}  // namespace mt::cuda
