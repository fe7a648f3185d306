// The op table: each public op once, with one entry point per backend. A backend that lacks
// an op leaves it null and the N-API layer reports that clearly. Adding an op touches this
// table, one file per backend, the binding and the tests.
#pragma once
#include <string>
#include <vector>

#include "core/tensor.h"
#include "cpu/ops.h"

namespace mt {

struct OpTable {
  const char* backend;
  Tensor (*matmul)(const Tensor& a, const Tensor& b, bool trans_a, bool trans_b);
  Tensor (*grouped_matmul)(const Tensor& x, const Tensor& w, const std::vector<int64_t>& group_sizes, bool trans_b);
  Tensor (*grouped_weight_grad)(const Tensor& x, const Tensor& dy, const std::vector<int64_t>& group_sizes);
  Tensor (*newton_schulz)(const Tensor& x, const cpu::NewtonSchulzOptions& options);
};

const OpTable& cpu_ops();
// CUDA kernels come with the CUDA backend; until then every entry is null.
const OpTable& cuda_ops();
inline const OpTable& ops_for(Device d) { return d == Device::CUDA ? cuda_ops() : cpu_ops(); }

// What the CUDA runtime reports about this machine.
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
