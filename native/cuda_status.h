// What the CUDA runtime reports about this machine (native/cuda/device_info.cu, or
// native/core/no_cuda.cc in a build without nvcc).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace mt {

struct CudaDevice {
  std::string name;
  int64_t memory_bytes = 0;
  int major = 0, minor = 0;
};
struct CudaStatus {
  bool compiled = false;   // this build contains CUDA code
  bool available = false;  // at least one usable device
  std::string reason;      // why not, when unavailable
  int runtime_version = 0, driver_version = 0;
  std::vector<CudaDevice> devices;
};
CudaStatus cuda_status();

}  // namespace mt
