// The op table: one entry point per op of the op list (native/op_list.h) and backend. A backend
// that lacks an op leaves it null, and the N-API layer reports that clearly.
#pragma once
#include <vector>

#include "core/tensor.h"
#include "op_list.h"
#include "op_types.h"

namespace mt {

struct OpTable {
  const char* backend = "";
#define MT_OP_TABLE_MEMBER(name, js, binding, Result, params, cpu, cuda) Result(*name) params = nullptr;
  MT_OP_LIST(MT_OP_TABLE_MEMBER)
#undef MT_OP_TABLE_MEMBER
};

const OpTable& cpu_ops();
const OpTable& cuda_ops();
inline const OpTable& ops_for(Device d) { return d == Device::CUDA ? cuda_ops() : cpu_ops(); }

}  // namespace mt
