// CUDA runtime queries. cudart is linked statically and finds the driver (libcuda.so.1) at run
// time, so on a machine without a GPU or driver every call returns an error code: the addon
// still loads and reports why CUDA is unusable.
#include <cuda_runtime.h>

#include "../cuda_status.h"

namespace mt {

CudaStatus cuda_status() {
  CudaStatus s;
  s.compiled = true;
  cudaRuntimeGetVersion(&s.runtime_version);
  if (cudaDriverGetVersion(&s.driver_version) != cudaSuccess || s.driver_version == 0) {
    s.reason = "no NVIDIA driver found (libcuda.so.1 could not be loaded)";
    return s;
  }
  int count = 0;
  const cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess) {
    s.reason = std::string("the CUDA runtime reports: ") + cudaGetErrorString(err);
    if (err == cudaErrorInsufficientDriver)
      s.reason += " (driver " + std::to_string(s.driver_version) + " is older than runtime " +
                  std::to_string(s.runtime_version) + ")";
    return s;
  }
  if (count == 0) {
    s.reason = "the driver reports no CUDA devices";
    return s;
  }
  for (int i = 0; i < count; ++i) {
    cudaDeviceProp prop;
    if (cudaGetDeviceProperties(&prop, i) != cudaSuccess) continue;
    s.devices.push_back({prop.name, static_cast<int64_t>(prop.totalGlobalMem), prop.major, prop.minor});
  }
  s.available = !s.devices.empty();
  if (!s.available) s.reason = "no device could be queried";
  return s;
}

}  // namespace mt
