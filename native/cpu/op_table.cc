// The CPU backend's op table (native/backend_table.inc): cpu::name for every op of the list
// marked cpu (native/op_list.h).
#include "linalg_ops.h"
#include "nn_ops.h"

#define MT_BACKEND cpu
#define MT_BACKEND_HAS(on_cpu, on_cuda) MT_IF_##on_cpu
#include "../backend_table.inc"
