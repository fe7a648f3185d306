// The op table: each public op once, with one entry point per backend. A backend that lacks
// an op leaves it null and the N-API layer reports that clearly. Adding an op touches this
// table, one file per backend, the binding and the tests.
#pragma once
#include <string>
#include <vector>

#include "core/tensor.h"
#include "cpu/ops.h"
#include "cpu/nn_ops.h"

namespace mt {

struct OpTable {
  const char* backend;
  // `add`, when not null, is summed into the product (C = op(a)·op(b) + add, as addmm).
  Tensor (*matmul)(const Tensor& a, const Tensor& b, bool trans_a, bool trans_b, const Tensor* add);
  Tensor (*grouped_matmul)(const Tensor& x, const Tensor& w, const std::vector<int64_t>& group_sizes, bool trans_b, const Tensor* add);
  Tensor (*grouped_weight_grad)(const Tensor& x, const Tensor& dy, const std::vector<int64_t>& group_sizes);
  Tensor (*newton_schulz)(const Tensor& x, const cpu::NewtonSchulzOptions& options);
  // Neural-network ops (native/cpu/nn_ops.h).
  Tensor (*embedding)(const Tensor& weight, const std::vector<int32_t>& ids);
  Tensor (*embedding_backward)(const Tensor& dy, const std::vector<int32_t>& ids, int64_t vocab_size);
  cpu::RmsNormResult (*rms_norm)(const Tensor& x, const Tensor& weight, double eps);
  cpu::RmsNormGrads (*rms_norm_backward)(const Tensor& dy, const Tensor& x, const Tensor& weight, const Tensor& rstd);
  Tensor (*rope)(const Tensor& x, const std::vector<int32_t>& positions, const cpu::RopeOptions& options);
  cpu::AttentionResult (*attention)(const Tensor& q, const Tensor& k, const Tensor& v, const cpu::AttentionOptions& options);
  cpu::AttentionGrads (*attention_backward)(const Tensor& dout, const Tensor& q, const Tensor& k, const Tensor& v,
                                            const Tensor& out, const Tensor& lse, const cpu::AttentionOptions& options, const Tensor* probs);
  Tensor (*swiglu)(const Tensor& gate, const Tensor& up);
  cpu::SwigluGrads (*swiglu_backward)(const Tensor& dy, const Tensor& gate, const Tensor& up);
  cpu::CrossEntropyResult (*cross_entropy)(const Tensor& logits, const std::vector<int32_t>& targets, bool grad_in_place);
  Tensor (*cross_entropy_backward)(const Tensor& logits, const std::vector<int32_t>& targets, const Tensor& lse, float scale);
  cpu::MoeRouteResult (*moe_route)(const Tensor& logits, const Tensor& bias, const cpu::MoeRouteOptions& options);
  Tensor (*moe_route_backward)(const Tensor& dweights, const Tensor& scores, const std::vector<int32_t>& experts,
                               bool norm_topk, float scaling_factor, const Tensor* dscores);
  cpu::MoePermuteResult (*moe_permute)(const Tensor& x, const std::vector<int32_t>& experts, int64_t num_experts);
  Tensor (*moe_unpermute)(const Tensor& ys, const std::vector<int32_t>& order, const Tensor& weights);
  cpu::MoeUnpermuteGrads (*moe_unpermute_backward)(const Tensor& dy, const Tensor& ys, const std::vector<int32_t>& order,
                                                   const Tensor& weights);
  Tensor (*moe_permute_backward)(const Tensor& dxs, const std::vector<int32_t>& order, int64_t top_k);
  cpu::SeqAuxLossResult (*moe_seq_aux_loss)(const Tensor& scores, const std::vector<int32_t>& experts,
                                            const cpu::SeqAuxLossOptions& options);
  Tensor (*add)(const Tensor& a, const Tensor& b, float alpha);
  Tensor (*scale)(const Tensor& a, float s);
  double (*sum_squares)(const Tensor& t);
  Tensor (*copy)(const Tensor& src, DType dtype);
  void (*assign)(const Tensor& dst, const Tensor& src);
  void (*scale_in_place)(const Tensor& t, float s);
  std::vector<Tensor> (*split)(const Tensor& x, const std::vector<int64_t>& sizes);
  Tensor (*concat)(const std::vector<Tensor>& parts);
  void (*adamw_step)(const Tensor& param, const Tensor& grad, const Tensor& m, const Tensor& v, const cpu::AdamWOptions& options);
  Tensor (*muon_momentum)(const Tensor& m, const Tensor& grad, const cpu::MuonMomentumOptions& options);
  void (*muon_apply)(const Tensor& param, const Tensor& update, const cpu::MuonApplyOptions& options);
};

const OpTable& cpu_ops();
// CUDA kernels come with the CUDA backend; until then every entry is null.
const OpTable& cuda_ops();
inline const OpTable& ops_for(Device d) { return d == Device::CUDA ? cuda_ops() : cpu_ops(); }

// What the CUDA runtime reports about this machine.
struct CudaDevice {
  std::string name;
  int64_t memory_bytes = 0;
  int major = 0, minor = 0;
};
struct CudaStatus {
  bool compiled = false;   // this build contains CUDA code
  bool available = false;  // at least one usable device
  std::string reason;      // why not, when unavailable
  int runtime_version = 0, driver_version = 0;
  std::vector<CudaDevice> devices;
};
CudaStatus cuda_status();

}  // namespace mt
