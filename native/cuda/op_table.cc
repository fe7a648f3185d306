// The CUDA backend's op table (native/backend_table.inc): cuda::name for every op of the list
// marked cuda (native/op_list.h); the others stay null.
#define MT_BACKEND cuda
#define MT_BACKEND_HAS(on_cpu, on_cuda) MT_IF_##on_cuda
#include "../backend_table.inc"
