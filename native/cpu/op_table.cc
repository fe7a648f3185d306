// The CPU backend's op table: cpu::name for every op of the list marked cpu (native/op_list.h).
#include "../op_table.h"
#include "linalg_ops.h"
#include "nn_ops.h"

namespace mt {

// Each implemented op's function, declared from the list: a kernel file only defines it, and a
// definition whose signature differs from the list's fails to link.
namespace cpu {
#define MT_DECLARE(name, js, binding, Result, params, on_cpu, on_cuda) MT_IF_##on_cpu(Result name params;)
MT_OP_LIST(MT_DECLARE)
#undef MT_DECLARE
}  // namespace cpu

const OpTable& cpu_ops() {
  static const OpTable table = [] {
    OpTable t;
    t.backend = "cpu";
#define MT_CPU_ENTRY(name, js, binding, Result, params, on_cpu, on_cuda) MT_IF_##on_cpu(t.name = cpu::name;)
    MT_OP_LIST(MT_CPU_ENTRY)
#undef MT_CPU_ENTRY
    return t;
  }();
  return table;
}

}  // namespace mt
