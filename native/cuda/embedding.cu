// Embedding and its backward on the GPU (bodies in kernels/embedding.cuh).
#include "../op_types.h"
#include "kernels/embedding.cuh"
#include "launch.h"

namespace mt::cuda {
namespace {

using kern::Elementwise;

template <class T>
__global__ void __launch_bounds__(Elementwise::kThreads) embedding_kernel(kern::EmbeddingArgs<T> a) { kern::embedding_body(a); }
template <class T>
__global__ void __launch_bounds__(Elementwise::kThreads) embedding_backward_kernel(kern::EmbeddingArgs<T> a) { kern::embedding_backward_body(a); }

}  // namespace

Tensor embedding(const Tensor& weight, const std::vector<int32_t>& ids) {
  const int64_t T = int64_t(ids.size()), D = weight.shape[1];
  Tensor out = empty_tensor({T, D}, weight.dtype, Device::CUDA);
  const DeviceBuffer dids(ids);
  with_type(weight.dtype, [&](auto zero) {
    using E = decltype(zero);
    kern::EmbeddingArgs<E> a;
    a.weight = weight.ptr<E>(), a.out = out.ptr<E>(), a.ids = dids.as<int32_t>(), a.rows = T, a.D = D;
    launch("embedding", "embedding_kernel", embedding_kernel<E>, to_dim3(Elementwise::grid(T * D)), to_dim3(Elementwise::block()), 0, a);
  });
  return out;
}

Tensor embedding_backward(const Tensor& dy, const std::vector<int32_t>& ids, int64_t vocab_size) {
  const int64_t D = dy.shape[1];
  Tensor dw = empty_tensor({vocab_size, D}, dy.dtype, Device::CUDA);
  const kern::EmbeddingBuckets b = kern::embedding_buckets(ids, vocab_size);
  const DeviceBuffer start(b.start), tokens(b.tokens);
  with_type(dy.dtype, [&](auto zero) {
    using E = decltype(zero);
    kern::EmbeddingArgs<E> a;
    a.dy = dy.ptr<E>(), a.out = dw.ptr<E>(), a.start = start.as<int32_t>(), a.tokens = tokens.as<int32_t>(), a.rows = vocab_size, a.D = D;
    launch("embeddingBackward", "embedding_backward_kernel", embedding_backward_kernel<E>, to_dim3(Elementwise::grid(vocab_size * D)), to_dim3(Elementwise::block()), 0, a);
  });
  return dw;
}

}  // namespace mt::cuda
