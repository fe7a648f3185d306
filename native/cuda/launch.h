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
#if !defined(__CUDACC__)
#include "emu/runtime.h"
#endif

namespace mt::cuda {

inline dim3 to_dim3(dev::Dim3 d) { return dim3(d.x, d.y, d.z); }

inline void check(const char* op, cudaError_t err, const char* what) {
  if (err == cudaSuccess) return;
  throw RuntimeError(op, err == cudaErrorMemoryAllocation ? "ERR_MOONTRAIN_OUT_OF_MEMORY" : "ERR_MOONTRAIN_CUDA",
                     std::string(what) + " failed: " + cudaGetErrorName(err) + " (" + cudaGetErrorString(err) + ")");
}
// After a kernel launch: the launch's own error (bad configuration, no device, an earlier fault).
inline void check_launch(const char* op, const char* kernel) { check(op, cudaGetLastError(), (std::string("launch of ") + kernel).c_str()); }

// Launches kernel k with grid x block threads and `smem` bytes of dynamic shared memory on
// `stream`; the caller checks cudaGetLastError. The same host code runs under g++ in the emulated
// build (docs/gpu.md), where the emulator runs the kernel before this returns.
template <class... P, class... A>
void launch_kernel(const char* kernel, void (*k)(P...), dim3 grid, dim3 block, size_t smem, cudaStream_t stream, const A&... args) {
#if defined(__CUDACC__)
  k<<<grid, block, smem, stream>>>(args...);
#else
  emu::runtime_launch(kernel, grid, block, smem, [&] { k(args...); });
#endif
}
// launch_kernel on the default stream, then check_launch.
template <class... P, class... A>
void launch(const char* op, const char* kernel, void (*k)(P...), dim3 grid, dim3 block, size_t smem, const A&... args) {
  launch_kernel(kernel, k, grid, block, smem, nullptr, args...);
  check_launch(op, kernel);
}

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
