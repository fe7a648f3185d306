#include "../ops.h"

namespace mt {

const OpTable& cpu_ops() {
  static const OpTable table{"cpu", cpu::matmul, cpu::grouped_matmul, cpu::grouped_weight_grad, cpu::newton_schulz,
                             // neural-network ops (native/cpu/nn/)
                             cpu::embedding, cpu::embedding_backward, cpu::rms_norm, cpu::rms_norm_backward, cpu::rope,
                             cpu::attention, cpu::attention_backward, cpu::swiglu, cpu::swiglu_backward,
                             cpu::cross_entropy, cpu::cross_entropy_backward, cpu::moe_route, cpu::moe_route_backward,
                             cpu::moe_permute, cpu::moe_unpermute, cpu::moe_unpermute_backward, cpu::moe_permute_backward,
                             cpu::moe_seq_aux_loss, cpu::add, cpu::scale, cpu::sum_squares, cpu::cast_copy, cpu::assign,
                             cpu::scale_in_place, cpu::split_last, cpu::concat_last, cpu::adamw_step, cpu::muon_momentum,
                             cpu::muon_apply};
  return table;
}

}  // namespace mt
