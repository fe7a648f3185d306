// CPU implementations of the neural-network ops a DeepSeek-V3 / Moonlight-style MoE transformer
// needs (forward and backward), one file per op family under native/cpu/nn/. Arguments arrive
// validated by the bindings (native/napi/ops/): shapes, dtypes and every index are in range here.
//
// All ops read f32 or bf16, compute in fp32 (sums in fp32 or double) and write the input dtype
// unless stated; statistics (rstd, lse), router tensors and losses are f32. Work is split over
// independent output rows or columns with a fixed partition and every sum runs in one task in a
// fixed order, so results are bitwise identical for any thread count.
#pragma once
#include <type_traits>
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <functional>
#include <vector>

#include "../core/isa.h"
#include "../core/tensor.h"
#include "../op_types.h"
#include "../core/thread_pool.h"

namespace mt::cpu {

// ---- embedding.cc ----
// weight [V,D], ids (each in [0,V)) -> [T,D] rows of weight.
Tensor embedding(const Tensor& weight, const std::vector<int32_t>& ids);
// dy [T,D] -> dweight [V,D]: row v is the sum, in token order, of dy's rows whose id is v.
Tensor embedding_backward(const Tensor& dy, const std::vector<int32_t>& ids, int64_t vocab_size);

// ---- rms_norm.cc ----
RmsNormResult rms_norm(const Tensor& x, const Tensor& weight, double eps);
RmsNormGrads rms_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& weight, const Tensor& rstd);

// ---- rope.cc ----
// x [T,H,d], positions [T] -> rotated copy.
Tensor rope(const Tensor& x, const std::vector<int32_t>& positions, const RopeOptions& options);

// ---- attention.cc ----
AttentionResult attention(const Tensor& q, const Tensor& k, const Tensor& v, const AttentionOptions& options);
// probs: the forward's probabilities, or null to recompute them from q, k and lse.
AttentionGrads attention_backward(const Tensor& dout, const Tensor& q, const Tensor& k, const Tensor& v,
                                  const Tensor& out, const Tensor& lse, const AttentionOptions& options, const Tensor* probs);

// ---- swiglu.cc ----
Tensor swiglu(const Tensor& gate, const Tensor& up);
SwigluGrads swiglu_backward(const Tensor& dy, const Tensor& gate, const Tensor& up);

// ---- cross_entropy.cc ----
// logits [T,V], targets [T] (< 0: ignored, else in [0,V)); grad_in_place: logits are overwritten
// by the gradient of the mean loss (cross_entropy_backward with scale 1/count).
CrossEntropyResult cross_entropy(const Tensor& logits, const std::vector<int32_t>& targets, bool grad_in_place);
Tensor cross_entropy_backward(const Tensor& logits, const std::vector<int32_t>& targets, const Tensor& lse, float scale);

// ---- moe_routing.cc ----
MoeRouteResult moe_route(const Tensor& logits, const Tensor& bias, const MoeRouteOptions& options);
// dweights [T,K] f32, scores [T,E] f32 -> dlogits [T,E] f32; dscores (may be null): a gradient
// of the scores from another path (the balance loss), added before the sigmoid's derivative.
Tensor moe_route_backward(const Tensor& dweights, const Tensor& scores, const Tensor& experts,
                          bool norm_topk, float scaling_factor, const Tensor* dscores);

MoePermuteResult moe_permute(const Tensor& x, const Tensor& experts, int64_t num_experts);
// order must be a permutation of [0, T*K).
Tensor moe_unpermute(const Tensor& ys, const Tensor& order, const Tensor& weights);
MoeUnpermuteGrads moe_unpermute_backward(const Tensor& dy, const Tensor& ys, const Tensor& order,
                                         const Tensor& weights);
Tensor moe_permute_backward(const Tensor& dxs, const Tensor& order, int64_t top_k);

SeqAuxLossResult moe_seq_aux_loss(const Tensor& scores, const Tensor& experts, const SeqAuxLossOptions& options);

// ---- elementwise.cc ----
Tensor add(const Tensor& a, const Tensor& b, float alpha);
Tensor scale(const Tensor& a, float s);
double sum_squares(const Tensor& t);
Tensor copy(const Tensor& src, DType dtype);
void assign(const Tensor& dst, const Tensor& src);  // in place, converting src's dtype
void scale_in_place(const Tensor& t, float s);
// Along axis (0 <= axis < rank); the parts share every other dimension.
std::vector<Tensor> split(const Tensor& x, const std::vector<int64_t>& sizes, int64_t axis);
Tensor concat(const std::vector<Tensor>& parts, int64_t axis);

// ---- optim_update.cc (in place; param, m, v f32; grad/update f32 or bf16) ----
void adamw_step(const Tensor& param, const Tensor& grad, const Tensor& m, const Tensor& v, const AdamWOptions& options);
Tensor muon_momentum(const Tensor& m, const Tensor& grad, const MuonMomentumOptions& options);
void muon_apply(const Tensor& param, const Tensor& update, const MuonApplyOptions& options);

// ---- helpers shared by native/cpu/nn/*.cc ----
namespace nn {

// Runs fn(begin, end) over [0, n) in consecutive chunks of `grain` items. The partition does not
// depend on the thread count.
inline void parallel_chunks(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  grain = std::max<int64_t>(1, grain);
  const int64_t tasks = (n + grain - 1) / grain;
  parallel_for(tasks, [&](int64_t i) { fn(i * grain, std::min(n, (i + 1) * grain)); });
}

// Whether the AVX-512 (+BF16) row kernels (nn/nn_avx512.h) run on the active ISA path.
inline bool avx512_rows() { return isa_active() >= Isa::Avx512Bf16; }

// Items per task when each item costs about `cost` element operations (~64k operations a task).
inline int64_t grain_for(int64_t cost) { return std::max<int64_t>(1, (int64_t(1) << 16) / std::max<int64_t>(1, cost)); }

// n elements starting at element `offset` of a buffer of dtype d, widened to float.
inline void load_f32(const void* base, DType d, int64_t offset, int64_t n, float* out) {
  if (d == DType::F32) {
    if (n > 0) std::memcpy(out, static_cast<const float*>(base) + offset, static_cast<size_t>(n) * 4);
  } else {
    const bf16_t* p = static_cast<const bf16_t*>(base) + offset;
    for (int64_t i = 0; i < n; ++i) out[i] = bf16_to_f32(p[i]);
  }
}

// n floats stored at element `offset` of a buffer of dtype d (bf16: round to nearest even).
inline void store_f32(void* base, DType d, int64_t offset, int64_t n, const float* in) {
  if (d == DType::F32) {
    if (n > 0) std::memcpy(static_cast<float*>(base) + offset, in, static_cast<size_t>(n) * 4);
  } else {
    bf16_t* p = static_cast<bf16_t*>(base) + offset;
    for (int64_t i = 0; i < n; ++i) p[i] = f32_to_bf16(in[i]);
  }
}

// Element i of a float or bf16 buffer as float, and back (bf16: round to nearest even): for
// one-pass loops over a single dtype, which the compiler vectorizes.
template <typename T>
inline float widen(T v) {
  if constexpr (std::is_same_v<T, float>) return v;
  else return bf16_to_f32(v);
}
template <typename T>
inline T narrow(float v) {
  if constexpr (std::is_same_v<T, float>) return v;
  else return f32_to_bf16(v);
}

// Calls fn.template operator()<T>() with T = float or bf16_t for dtype d.
template <typename Fn>
inline void with_element_type(DType d, Fn&& fn) {
  if (d == DType::F32) fn(float{});
  else fn(bf16_t{});
}

inline const float* f32_data(const Tensor& t) { return static_cast<const float*>(t.data()); }
inline float* f32_mut(const Tensor& t) { return static_cast<float*>(t.data()); }

}  // namespace nn

}  // namespace mt::cpu
