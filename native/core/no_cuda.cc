// Stands in for native/cuda/ in builds without nvcc (and in the node-gyp CPU build).
#include "../cuda_status.h"
#include "../op_table.h"

namespace mt {

CudaStatus cuda_status() {
  CudaStatus s;
  s.reason = "this build of moontrain was compiled without CUDA (nvcc was not found at build time)";
  return s;
}

const OpTable& cuda_ops() {
  static const OpTable table = [] {
    OpTable t;
    t.backend = "cuda";
    return t;
  }();
  return table;
}

}  // namespace mt
