// Stands in for native/cuda/ in builds without nvcc (and in the node-gyp CPU build).
#include "../cuda_status.h"
#include "../core/cuda_allocator.h"
#include "../core/error.h"
#include "../op_table.h"

namespace mt {

namespace {
const char* kNotCompiled = "this build of moontrain was compiled without CUDA (nvcc was not found at build time)";
[[noreturn]] void not_compiled() { throw RuntimeError("cuda", "ERR_MOONTRAIN_NO_CUDA", kNotCompiled); }
}  // namespace

CudaStatus cuda_status() {
  CudaStatus s;
  s.reason = kNotCompiled;
  return s;
}

void* cuda_alloc(size_t, CudaStream) { not_compiled(); }
void cuda_free(void*, size_t, CudaStream) {}
void cuda_zero(void*, size_t, CudaStream) { not_compiled(); }
void cuda_copy(void*, const void*, size_t, bool, bool) { not_compiled(); }
size_t cuda_cached_bytes() { return 0; }
void cuda_release_cache() {}

const OpTable& cuda_ops() {
  static const OpTable table = [] {
    OpTable t;
    t.backend = "cuda";
    return t;
  }();
  return table;
}

}  // namespace mt
