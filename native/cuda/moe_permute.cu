// MoE permutation to expert order, the unpermutation and their backwards on the GPU (bodies in
// kernels/moe_permute.cuh). The group sizes and the order are made and used on the device: no
// host synchronisation. Index tensors given on the host are copied up.
#include "../op_types.h"
#include "kernels/moe_permute.cuh"
#include "launch.h"

namespace mt::cuda {
namespace {

using kern::ChunkCounts;
using kern::CountScan;
using kern::Elementwise;
using kern::RowBlock;

__global__ void __launch_bounds__(ChunkCounts::kThreads) permute_counts_kernel(kern::ChunkCountArgs a) { kern::chunk_counts_body(a); }
__global__ void __launch_bounds__(CountScan::kThreads) permute_scan_kernel(kern::PermuteArgs a) { kern::permute_scan_body(a); }
__global__ void __launch_bounds__(ChunkCounts::kThreads) permute_scatter_kernel(kern::PermuteArgs a) { kern::permute_scatter_body(a); }
template <class T>
__global__ void __launch_bounds__(Elementwise::kThreads) permute_gather_kernel(kern::PermuteGatherArgs<T> a) { kern::permute_gather_body(a); }
__global__ void __launch_bounds__(Elementwise::kThreads) inverse_order_kernel(const int32_t* order, int32_t* rows, int64_t n) {
  kern::inverse_order_body(order, rows, n);
}
template <class T>
__global__ void __launch_bounds__(Elementwise::kThreads) unpermute_kernel(kern::UnpermuteArgs<T> a) { kern::unpermute_body(a); }
template <class T>
__global__ void __launch_bounds__(Elementwise::kThreads) unpermute_backward_dys_kernel(kern::UnpermuteArgs<T> a) { kern::unpermute_backward_dys_body(a); }
template <class T>
__global__ void __launch_bounds__(RowBlock::kThreads) unpermute_backward_dweights_kernel(kern::UnpermuteArgs<T> a) {
  kern::unpermute_backward_dweights_body(a);
}

// rows[f]: the sorted row of each slot (rows holds order.numel() entries).
void inverse_order(const char* op, const Tensor& order, const DeviceBuffer& rows) {
  const int64_t n = order.numel();
  launch(op, "inverse_order_kernel", inverse_order_kernel, to_dim3(Elementwise::grid(n)), to_dim3(Elementwise::block()), 0, order.ptr<int32_t>(), rows.as<int32_t>(), n);
}

// y[t] (weights) or dx[t] (no weights): the token's slots summed in slot order.
Tensor unpermute(const char* op, const Tensor& src, const Tensor& order_any, const float* weights, int64_t T, int64_t K) {
  const int64_t D = src.shape[1];
  Tensor out = empty_tensor({T, D}, src.dtype, Device::CUDA);
  const Tensor order = to_device(order_any, Device::CUDA);
  const DeviceBuffer rows(size_t(order.numel()) * sizeof(int32_t));
  inverse_order(op, order, rows);
  with_type(src.dtype, [&](auto zero) {
    using E = decltype(zero);
    kern::UnpermuteArgs<E> a;
    (weights ? a.ys : a.dxs) = src.ptr<E>();
    a.weights = weights, a.rows = rows.as<int32_t>(), a.out = out.ptr<E>(), a.tokens = T, a.K = K, a.D = D;
    launch(op, "unpermute_kernel", unpermute_kernel<E>, to_dim3(Elementwise::grid(T * D)), to_dim3(Elementwise::block()), 0, a);
  });
  return out;
}

}  // namespace

MoePermuteResult moe_permute(const Tensor& x, const Tensor& experts_any, int64_t num_experts) {
  const int64_t T = x.shape[0], D = x.shape[1], N = experts_any.numel(), K = T > 0 ? N / T : 0, E = num_experts;
  MoePermuteResult r;
  r.group_sizes = empty_tensor({E}, DType::I32, Device::CUDA);
  r.group_sizes.storage->facts.sum = N;
  r.order = empty_tensor({N}, DType::I32, Device::CUDA);
  r.order.storage->facts.bound = N;
  r.order.storage->facts.permutation = true;
  r.xs = empty_tensor({N, D}, x.dtype, Device::CUDA);
  if (N == 0) {
    cuda_zero(r.group_sizes.data(), r.group_sizes.nbytes());
    return r;
  }
  const Tensor experts = to_device(experts_any, Device::CUDA);
  const int64_t chunks = ChunkCounts::chunks(N);
  DeviceBuffer offsets(size_t(E * chunks) * sizeof(int32_t));
  kern::ChunkCountArgs c;
  c.experts = experts.ptr<int32_t>(), c.counts = offsets.as<int32_t>(), c.seg_len = N, c.chunks = chunks, c.E = E;
  launch("moePermute", "permute_counts_kernel", permute_counts_kernel, unsigned(chunks), to_dim3(ChunkCounts::block()), ChunkCounts::kSmemBytes, c);
  kern::PermuteArgs p;
  p.experts = experts.ptr<int32_t>(), p.offsets = offsets.as<int32_t>(), p.group_sizes = r.group_sizes.ptr<int32_t>();
  p.order = r.order.ptr<int32_t>(), p.N = N, p.E = E, p.chunks = chunks;
  launch("moePermute", "permute_scan_kernel", permute_scan_kernel, 1, to_dim3(CountScan::block()), CountScan::kSmemBytes, p);
  launch("moePermute", "permute_scatter_kernel", permute_scatter_kernel, unsigned(chunks), to_dim3(ChunkCounts::block()), ChunkCounts::kSmemBytes, p);
  const auto gather = [&](auto zero) {
    using W = decltype(zero);
    kern::PermuteGatherArgs<W> g;
    g.x = static_cast<const W*>(x.data()), g.xs = static_cast<W*>(r.xs.data()), g.order = r.order.ptr<int32_t>(), g.N = N, g.D = D, g.K = K;
    launch("moePermute", "permute_gather_kernel", permute_gather_kernel<W>, to_dim3(Elementwise::grid(N * D)), to_dim3(Elementwise::block()), 0, g);
  };
  if (dtype_size(x.dtype) == 2) gather(uint16_t{});
  else gather(uint32_t{});
  return r;
}

Tensor moe_unpermute(const Tensor& ys, const Tensor& order, const Tensor& weights) {
  return unpermute("moeUnpermute", ys, order, weights.ptr<float>(), weights.shape[0], weights.shape[1]);
}

Tensor moe_permute_backward(const Tensor& dxs, const Tensor& order, int64_t top_k) {
  return unpermute("moePermuteBackward", dxs, order, nullptr, top_k > 0 ? dxs.shape[0] / top_k : 0, top_k);
}

MoeUnpermuteGrads moe_unpermute_backward(const Tensor& dy, const Tensor& ys, const Tensor& order_any, const Tensor& weights) {
  const int64_t T = weights.shape[0], K = weights.shape[1], D = ys.shape[1];
  MoeUnpermuteGrads g{empty_tensor(ys.shape, ys.dtype, Device::CUDA), empty_tensor({T, K}, DType::F32, Device::CUDA)};
  if (T * K == 0) return g;
  const Tensor order = to_device(order_any, Device::CUDA);
  with_type(ys.dtype, [&](auto zero) {
    using E = decltype(zero);
    kern::UnpermuteArgs<E> a;
    a.ys = ys.ptr<E>(), a.dy = dy.ptr<E>(), a.weights = weights.ptr<float>(), a.order = order.ptr<int32_t>(), a.out = g.dys.ptr<E>();
    a.dweights = g.dweights.ptr<float>(), a.tokens = T, a.K = K, a.D = D;
    launch("moeUnpermuteBackward", "unpermute_backward_dys_kernel", unpermute_backward_dys_kernel<E>, to_dim3(Elementwise::grid(T * K * D)), to_dim3(Elementwise::block()), 0, a);
    launch("moeUnpermuteBackward", "unpermute_backward_dweights_kernel", unpermute_backward_dweights_kernel<E>, unsigned(T * K), to_dim3(RowBlock::block()), RowBlock::kSmemBytes, a);
  });
  return g;
}

}  // namespace mt::cuda
