// Stands in for native/cuda/ in builds without nvcc (and in the node-gyp CPU build).
#include "../ops.h"

namespace mt {

CudaStatus cuda_status() {
  CudaStatus s;
  s.reason = "this build of moontrain was compiled without CUDA (nvcc was not found at build time)";
  return s;
}

const OpTable& cuda_ops() {
  static const OpTable table{"cuda", nullptr, nullptr, nullptr, nullptr,
                             // neural-network ops: 29 entries, none on CUDA yet
                             nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr,
                             nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr,
                             nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr};
  return table;
}

}  // namespace mt
