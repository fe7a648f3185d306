// The op list: every public op once. Everything per-op is generated from it (docs/design.md,
// "The op list"): the OpTable members (native/op_table.h), each backend's declarations and
// table (native/backend_table.inc), the N-API registration
// (native/napi/op_registry.cc), and in JS `ops`, `ops.supports` and `info().ops`.
//
//   X(name, jsName, binding, Result, (parameters), cpu, cuda)
//
// name: the C++ name; the table member and each backend's function (cpu::name, cuda::name).
// jsName: the name of the op in JS (ops.jsName).
// binding: `custom`, a hand-written validating binding `bind_name` (native/napi/ops/), or
//   `unary`, the generic one for Tensor (const Tensor& x): any f32/bf16 tensor in, a tensor out.
// cpu, cuda: 1 when that backend implements the op (the table entry then names its function).
#pragma once

// `add`, when not null, is summed into the product (C = op(a)·op(b) + add, as addmm).
#define MT_OP_LIST(X)                                                                                              \
  X(matmul, "matmul", custom, Tensor, (const Tensor& a, const Tensor& b, bool trans_a, bool trans_b, const Tensor* add), 1, 1) \
  X(grouped_matmul, "groupedMatmul", custom, Tensor,                                                               \
    (const Tensor& x, const Tensor& w, const Tensor& group_sizes, bool trans_b, const Tensor* add), 1, 1) \
  X(grouped_weight_grad, "groupedWeightGrad", custom, Tensor,                                                      \
    (const Tensor& x, const Tensor& dy, const Tensor& group_sizes), 1, 1)                            \
  X(newton_schulz, "newtonSchulz", custom, Tensor, (const Tensor& x, const NewtonSchulzOptions& options), 1, 1)   \
  X(embedding, "embedding", custom, Tensor, (const Tensor& weight, const std::vector<int32_t>& ids), 1, 1)        \
  X(embedding_backward, "embeddingBackward", custom, Tensor,                                                       \
    (const Tensor& dy, const std::vector<int32_t>& ids, int64_t vocab_size), 1, 1)                                 \
  X(rms_norm, "rmsNorm", custom, RmsNormResult, (const Tensor& x, const Tensor& weight, double eps), 1, 1)        \
  X(rms_norm_backward, "rmsNormBackward", custom, RmsNormGrads,                                                    \
    (const Tensor& dy, const Tensor& x, const Tensor& weight, const Tensor& rstd), 1, 1)                           \
  X(rope, "rope", custom, Tensor, (const Tensor& x, const std::vector<int32_t>& positions, const RopeOptions& options), 1, 1) \
  X(attention, "attention", custom, AttentionResult,                                                               \
    (const Tensor& q, const Tensor& k, const Tensor& v, const AttentionOptions& options), 1, 1)                    \
  X(attention_backward, "attentionBackward", custom, AttentionGrads,                                               \
    (const Tensor& dout, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& out, const Tensor& lse,  \
     const AttentionOptions& options, const Tensor* probs), 1, 1)                                                  \
  X(swiglu, "swiglu", custom, Tensor, (const Tensor& gate, const Tensor& up), 1, 1)                                \
  X(swiglu_backward, "swigluBackward", custom, SwigluGrads, (const Tensor& dy, const Tensor& gate, const Tensor& up), 1, 1) \
  X(cross_entropy, "crossEntropy", custom, CrossEntropyResult,                                                     \
    (const Tensor& logits, const std::vector<int32_t>& targets, bool grad_in_place), 1, 1)                         \
  X(cross_entropy_backward, "crossEntropyBackward", custom, Tensor,                                                \
    (const Tensor& logits, const std::vector<int32_t>& targets, const Tensor& lse, float scale), 1, 1)             \
  X(moe_route, "moeRoute", custom, MoeRouteResult, (const Tensor& logits, const Tensor& bias, const MoeRouteOptions& options), 1, 1) \
  X(moe_route_backward, "moeRouteBackward", custom, Tensor,                                                        \
    (const Tensor& dweights, const Tensor& scores, const Tensor& experts, bool norm_topk,            \
     float scaling_factor, const Tensor* dscores), 1, 1)                                                           \
  X(moe_permute, "moePermute", custom, MoePermuteResult,                                                           \
    (const Tensor& x, const Tensor& experts, int64_t num_experts), 1, 1)                             \
  X(moe_unpermute, "moeUnpermute", custom, Tensor,                                                                 \
    (const Tensor& ys, const Tensor& order, const Tensor& weights), 1, 1)                            \
  X(moe_unpermute_backward, "moeUnpermuteBackward", custom, MoeUnpermuteGrads,                                     \
    (const Tensor& dy, const Tensor& ys, const Tensor& order, const Tensor& weights), 1, 1)           \
  X(moe_permute_backward, "moePermuteBackward", custom, Tensor,                                                    \
    (const Tensor& dxs, const Tensor& order, int64_t top_k), 1, 1)                                   \
  X(moe_seq_aux_loss, "moeSeqAuxLoss", custom, SeqAuxLossResult,                                                   \
    (const Tensor& scores, const Tensor& experts, const SeqAuxLossOptions& options), 1, 1)           \
  X(add, "add", custom, Tensor, (const Tensor& a, const Tensor& b, float alpha), 1, 1)                             \
  X(scale, "scale", custom, Tensor, (const Tensor& a, float s), 1, 1)                                              \
  X(scale_in_place, "scaleInPlace", custom, void, (const Tensor& t, float s), 1, 1)                                \
  X(sum_squares, "sumSquares", custom, double, (const Tensor& t), 1, 1)                                            \
  X(copy, "copy", custom, Tensor, (const Tensor& src, DType dtype), 1, 1)                                          \
  X(assign, "assign", custom, void, (const Tensor& dst, const Tensor& src), 1, 1)                                  \
  X(split, "split", custom, std::vector<Tensor>, (const Tensor& x, const std::vector<int64_t>& sizes, int64_t axis), 1, 1)       \
  X(concat, "concat", custom, Tensor, (const std::vector<Tensor>& parts, int64_t axis), 1, 1)                                    \
  X(adamw_step, "adamwStep", custom, void,                                                                         \
    (const Tensor& param, const Tensor& grad, const Tensor& m, const Tensor& v, const AdamWOptions& options), 1, 1) \
  X(muon_momentum, "muonMomentum", custom, Tensor, (const Tensor& m, const Tensor& grad, const MuonMomentumOptions& options), 1, 1) \
  X(muon_apply, "muonApply", custom, void, (const Tensor& param, const Tensor& update, const MuonApplyOptions& options), 1, 1)

// MT_IF_1(code) is code, MT_IF_0(code) is nothing: `MT_IF_##cpu(...)` keeps an entry of the
// backends that implement the op.
#define MT_IF_1(...) __VA_ARGS__
#define MT_IF_0(...)
