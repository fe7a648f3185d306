// Attention and its backward on the GPU (bodies in kernels/attention.cuh): q, k [B,S,H,dk],
// v [B,S,H,dv]; the forward is one block per query row, the backward one block per query row
// (dq, and rowsum(dO ⊙ out) into a scratch buffer) then one block per key row (dk, dv).
#include <string>

#include "../op_types.h"
#include "kernels/attention.cuh"
#include "launch.h"

namespace mt::cuda {
namespace {

using kern::AttentionBlock;

template <class T>
__global__ void __launch_bounds__(AttentionBlock::kThreads) attention_kernel(kern::AttentionArgs<T> a) { kern::attention_forward_body(a); }
template <class T>
__global__ void __launch_bounds__(AttentionBlock::kThreads) attention_backward_dq_kernel(kern::AttentionArgs<T> a) { kern::attention_backward_dq_body(a); }
template <class T>
__global__ void __launch_bounds__(AttentionBlock::kThreads) attention_backward_dkv_kernel(kern::AttentionArgs<T> a) { kern::attention_backward_dkv_body(a); }

// The arguments every kernel shares, after the checks this backend adds to the binding's.
template <class T>
kern::AttentionArgs<T> shared_args(const char* op, const Tensor& q, const Tensor& k, const Tensor& v, const AttentionOptions& o) {
  kern::AttentionArgs<T> a;
  a.B = q.shape[0], a.Sq = q.shape[1], a.Sk = k.shape[1], a.H = q.shape[2], a.Dk = q.shape[3], a.Dv = v.shape[3];
  if (a.Dk + a.Dv > AttentionBlock::kMaxHeadDims)
    throw ArgError(op, "q", "dk + dv at most " + std::to_string(AttentionBlock::kMaxHeadDims) + " on CUDA (the rows live in shared memory)",
                   "dk + dv = " + std::to_string(a.Dk + a.Dv));
  if (a.B * a.H * (a.Sq > a.Sk ? a.Sq : a.Sk) > int64_t(0x7fffffff))
    throw ArgError(op, "q", "B·H·S at most 2^31 - 1 on CUDA (one block per row)", shape_str(q.shape));
  a.q = q.ptr<T>(), a.k = k.ptr<T>(), a.v = v.ptr<T>(), a.scale = o.scale, a.causal = o.causal;
  return a;
}

}  // namespace

AttentionResult attention(const Tensor& q, const Tensor& k, const Tensor& v, const AttentionOptions& options) {
  const int64_t B = q.shape[0], S = q.shape[1], H = q.shape[2], dv = v.shape[3];
  AttentionResult r{empty_tensor({B, S, H, dv}, q.dtype, Device::CUDA), empty_tensor({B, H, S}, DType::F32, Device::CUDA)};
  if (options.keep_probs) r.probs = empty_tensor({B, H, S, S}, q.dtype, Device::CUDA);
  with_type(q.dtype, [&](auto zero) {
    using T = decltype(zero);
    kern::AttentionArgs<T> a = shared_args<T>("attention", q, k, v, options);
    if (B * H * S == 0) return;
    a.out = r.out.ptr<T>(), a.lse = r.lse.ptr<float>(), a.probs = options.keep_probs ? r.probs.ptr<T>() : nullptr;
    const size_t smem = AttentionBlock::layout(a.Dk, a.Dv).bytes;
    launch("attention", "attention_kernel", attention_kernel<T>, unsigned(B * H * S), to_dim3(AttentionBlock::block()), smem, a);
  });
  return r;
}

AttentionGrads attention_backward(const Tensor& dout, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& out, const Tensor& lse,
                                  const AttentionOptions& options, const Tensor* probs) {
  const int64_t B = q.shape[0], S = q.shape[1], H = q.shape[2];
  AttentionGrads g{empty_tensor(q.shape, q.dtype, Device::CUDA), empty_tensor(k.shape, k.dtype, Device::CUDA), empty_tensor(v.shape, v.dtype, Device::CUDA)};
  with_type(q.dtype, [&](auto zero) {
    using T = decltype(zero);
    kern::AttentionArgs<T> a = shared_args<T>("attentionBackward", q, k, v, options);
    if (B * H * S == 0) return;
    DeviceBuffer delta(size_t(B * H * S) * sizeof(float));
    a.dout = dout.ptr<T>(), a.out_in = out.ptr<T>(), a.probs_in = probs ? probs->ptr<T>() : nullptr;
    a.lse = lse.ptr<float>(), a.delta = delta.as<float>();
    a.dq = g.dq.ptr<T>(), a.dk = g.dk.ptr<T>(), a.dv = g.dv.ptr<T>();
    const size_t smem = AttentionBlock::layout(a.Dk, a.Dv).bytes;
    launch("attentionBackward", "attention_backward_dq_kernel", attention_backward_dq_kernel<T>, unsigned(B * H * S), to_dim3(AttentionBlock::block()), smem, a);
    launch("attentionBackward", "attention_backward_dkv_kernel", attention_backward_dkv_kernel<T>, unsigned(B * H * S), to_dim3(AttentionBlock::block()), smem, a);
  });
  return g;
}

}  // namespace mt::cuda
