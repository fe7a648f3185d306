// The CUDA backend's op table: cuda::name for every op of the list marked cuda
// (native/op_list.h); the others stay null.
#include "../op_table.h"

namespace mt {

// Each implemented op's function, declared from the list: a kernel file only defines it, and a
// definition whose signature differs from the list's fails to link.
namespace cuda {
#define MT_DECLARE(name, js, binding, Result, params, on_cpu, on_cuda) MT_IF_##on_cuda(Result name params;)
MT_OP_LIST(MT_DECLARE)
#undef MT_DECLARE
}  // namespace cuda

const OpTable& cuda_ops() {
  static const OpTable table = [] {
    OpTable t;
    t.backend = "cuda";
#define MT_CUDA_ENTRY(name, js, binding, Result, params, on_cpu, on_cuda) MT_IF_##on_cuda(t.name = cuda::name;)
    MT_OP_LIST(MT_CUDA_ENTRY)
#undef MT_CUDA_ENTRY
    return t;
  }();
  return table;
}

}  // namespace mt
