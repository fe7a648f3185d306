// MoE routing, its backward and the sequence balance loss on the GPU (bodies in
// kernels/moe_route.cuh and kernels/moe_aux_loss.cuh). Index tensors given on the host are copied
// up; the results stay on the device, except the balance loss's per-token terms, copied back and
// summed on the host.
#include "../op_types.h"
#include "kernels/moe_aux_loss.cuh"
#include "kernels/moe_route.cuh"
#include "launch.h"

namespace mt::cuda {
namespace {

using kern::ChunkCounts;
using kern::Elementwise;
using kern::RouteBlock;
using kern::RowBlock;

__global__ void __launch_bounds__(RouteBlock::kThreads) moe_route_kernel(kern::MoeRouteArgs a) { kern::moe_route_body(a); }
__global__ void __launch_bounds__(Elementwise::kThreads) moe_route_backward_kernel(kern::MoeRouteBackwardArgs a) { kern::moe_route_backward_body(a); }
__global__ void __launch_bounds__(ChunkCounts::kThreads) seq_aux_counts_kernel(kern::ChunkCountArgs a) { kern::chunk_counts_body(a); }
__global__ void __launch_bounds__(Elementwise::kThreads) seq_aux_f_kernel(kern::SeqAuxLossArgs a) { kern::seq_aux_f_body(a); }
__global__ void __launch_bounds__(RowBlock::kThreads) seq_aux_rows_kernel(kern::SeqAuxLossArgs a) { kern::seq_aux_rows_body(a); }

}  // namespace

MoeRouteResult moe_route(const Tensor& logits, const Tensor& bias, const MoeRouteOptions& o) {
  const int64_t T = logits.shape[0], E = logits.shape[1], K = o.top_k;
  MoeRouteResult r;
  r.experts = empty_tensor({T * K}, DType::I32, Device::CUDA);
  r.experts.storage->facts.bound = E;
  r.weights = empty_tensor({T, K}, DType::F32, Device::CUDA);
  r.scores = empty_tensor({T, E}, DType::F32, Device::CUDA);
  if (T == 0) return r;
  const DeviceBuffer group_scores(o.n_group > 1 ? size_t(T * o.n_group) * sizeof(float) : 0);
  kern::MoeRouteArgs a;
  a.logits = logits.ptr<float>(), a.bias = bias.ptr<float>(), a.scores = r.scores.ptr<float>(), a.weights = r.weights.ptr<float>();
  a.experts = r.experts.ptr<int32_t>(), a.group_scores = group_scores.as<float>();
  a.tokens = T, a.E = E, a.K = K, a.G = o.n_group, a.topk_group = o.topk_group, a.norm_topk = o.norm_topk, a.scaling = o.scaling_factor;
  launch("moeRoute", "moe_route_kernel", moe_route_kernel, to_dim3(RouteBlock::grid(T)), to_dim3(RouteBlock::block()), 0, a);
  return r;
}

Tensor moe_route_backward(const Tensor& dweights, const Tensor& scores, const Tensor& experts, bool norm_topk, float scaling_factor,
                          const Tensor* dscores) {
  const int64_t T = scores.shape[0], E = scores.shape[1], K = dweights.shape[1];
  Tensor d = empty_tensor({T, E}, DType::F32, Device::CUDA);
  const Tensor ex = to_device(experts, Device::CUDA);
  kern::MoeRouteBackwardArgs a;
  a.dweights = dweights.ptr<float>(), a.scores = scores.ptr<float>(), a.dscores = dscores ? dscores->ptr<float>() : nullptr;
  a.experts = ex.ptr<int32_t>(), a.out = d.ptr<float>(), a.tokens = T, a.E = E, a.K = K, a.norm_topk = norm_topk, a.scaling = scaling_factor;
  launch("moeRouteBackward", "moe_route_backward_kernel", moe_route_backward_kernel, to_dim3(Elementwise::grid(T * E)), to_dim3(Elementwise::block()), 0, a);
  return d;
}

SeqAuxLossResult moe_seq_aux_loss(const Tensor& scores, const Tensor& experts, const SeqAuxLossOptions& o) {
  const int64_t B = o.batch, S = o.seq_len, E = scores.shape[1], slots = S * o.top_k;
  SeqAuxLossResult r;
  r.dscores = empty_tensor({B * S, E}, DType::F32, Device::CUDA);
  const Tensor ex = to_device(experts, Device::CUDA);
  const int64_t chunks = ChunkCounts::chunks(slots);
  DeviceBuffer counts(size_t(B * E * chunks) * sizeof(int32_t)), f(size_t(B * E) * sizeof(double)), terms(size_t(B * S) * sizeof(double));
  kern::ChunkCountArgs c;
  c.experts = ex.ptr<int32_t>(), c.counts = counts.as<int32_t>(), c.seg_len = slots, c.chunks = chunks, c.E = E;
  launch("moeSeqAuxLoss", "seq_aux_counts_kernel", seq_aux_counts_kernel, unsigned(B * chunks), to_dim3(ChunkCounts::block()), ChunkCounts::kSmemBytes, c);
  kern::SeqAuxLossArgs a;
  a.scores = scores.ptr<float>(), a.counts = counts.as<int32_t>(), a.f = f.as<double>(), a.dscores = r.dscores.ptr<float>();
  a.token_term = terms.as<double>(), a.B = B, a.S = S, a.E = E, a.chunks = chunks;
  a.fscale = double(E) / (double(o.top_k) * double(S)), a.gscale = o.alpha / double(B);
  launch("moeSeqAuxLoss", "seq_aux_f_kernel", seq_aux_f_kernel, to_dim3(Elementwise::grid(B * E)), to_dim3(Elementwise::block()), 0, a);
  launch("moeSeqAuxLoss", "seq_aux_rows_kernel", seq_aux_rows_kernel, unsigned(B * S), to_dim3(RowBlock::block()), RowBlock::kSmemBytes, a);
  std::vector<double> host_terms(size_t(B * S));
  cuda_copy(host_terms.data(), terms.as<double>(), host_terms.size() * sizeof(double), false, true);
  r.loss = kern::seq_aux_loss_total(host_terms, B, S, a.gscale);
  return r;
}

}  // namespace mt::cuda
