// What the CUDA backend's host launchers share: every CUDA call checked (a failure becomes a
// RuntimeError naming the op), device copies of the host-side index vectors an op takes, and the
// dispatch from a dtype to the kernels' element type (float, or uint16_t for bf16 bits).
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <string>
#include <vector>

#include "../core/cuda_allocator.h"
#include "../core/error.h"
#include "../core/tensor.h"
#include "device/device.cuh"

namespace mt::cuda {

inline dim3 to_dim3(dev::Dim3 d) { return dim3(d.x, d.y, d.z); }

inline void check(const char* op, cudaError_t err, const char* what) {
  if (err == cudaSuccess) return;
  throw RuntimeError(op, err == cudaErrorMemoryAllocation ? "ERR_MOONTRAIN_OUT_OF_MEMORY" : "ERR_MOONTRAIN_CUDA",
                     std::string(what) + " failed: " + cudaGetErrorName(err) + " (" + cudaGetErrorString(err) + ")");
}
// After a kernel launch: the launch's own error (bad configuration, no device, an earlier fault).
inline void check_launch(const char* op, const char* kernel) { check(op, cudaGetLastError(), (std::string("launch of ") + kernel).c_str()); }

// Device memory for the duration of an op, from the stream-ordered cache (returned to it when
// the op ends; work queued later on the stream runs after the op's kernels).
class DeviceBuffer {
 public:
  explicit DeviceBuffer(size_t bytes) : bytes_(bytes), p_(cuda_alloc(bytes)) {}
  // A device copy of v.
  template <class T>
  explicit DeviceBuffer(const std::vector<T>& v) : DeviceBuffer(v.size() * sizeof(T)) {
    if (!v.empty()) cuda_copy(p_, v.data(), bytes_, true, false);
  }
  ~DeviceBuffer() { cuda_free(p_, bytes_); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  template <class T>
  T* as() const { return static_cast<T*>(p_); }

 private:
  size_t bytes_;
  void* p_;
};

// f(float{}) for F32, f(uint16_t{}) for BF16.
template <class F>
inline void with_type(DType d, F&& f) {
  if (d == DType::BF16) f(uint16_t{});
  else f(float{});
}

}  // namespace mt::cuda
