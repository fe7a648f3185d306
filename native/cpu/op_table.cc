#include "../ops.h"

namespace mt {

const OpTable& cpu_ops() {
  static const OpTable table{"cpu", cpu::matmul, cpu::grouped_matmul, cpu::grouped_weight_grad, cpu::newton_schulz};
  return table;
}

}  // namespace mt
