// The CUDA runtime of the emulated build (include/cuda_runtime.h): one device, whose memory is
// host memory. cudaMalloc fills new memory with 0xFF bytes (NaN in f32 and bf16), as device
// memory is not cleared either.
#include "runtime.h"

#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include "../device/device.cuh"

namespace {

constexpr size_t kAlign = 256;  // cudaMalloc's alignment
thread_local cudaError_t g_last = cudaSuccess;
thread_local std::string g_launch_message = "unspecified launch failure";

}  // namespace

namespace mt::emu {

void runtime_launch(const char* kernel, dim3 grid, dim3 block, size_t smem_bytes, const std::function<void()>& body) {
  try {
    launch(kernel, dev::Dim3{grid.x, grid.y, grid.z}, dev::Dim3{block.x, block.y, block.z}, smem_bytes, body);
  } catch (const Error& e) {
    g_last = cudaErrorLaunchFailure;
    g_launch_message = std::string("the CUDA emulator stopped the kernel: ") + e.what();
  }
}

}  // namespace mt::emu

cudaError_t cudaMalloc(void** p, size_t bytes) {
  *p = std::aligned_alloc(kAlign, (bytes + kAlign - 1) / kAlign * kAlign);
  if (!*p) return g_last = cudaErrorMemoryAllocation;
  std::memset(*p, 0xFF, bytes);
  return cudaSuccess;
}

cudaError_t cudaFree(void* p) {
  std::free(p);
  return cudaSuccess;
}

cudaError_t cudaMemcpy(void* dst, const void* src, size_t bytes, cudaMemcpyKind) {
  if (bytes) std::memmove(dst, src, bytes);
  return cudaSuccess;
}

cudaError_t cudaMemsetAsync(void* p, int value, size_t bytes, cudaStream_t) {
  if (bytes) std::memset(p, value, bytes);
  return cudaSuccess;
}

cudaError_t cudaDeviceSynchronize() { return cudaSuccess; }

cudaError_t cudaGetLastError() {
  const cudaError_t e = g_last;
  g_last = cudaSuccess;
  return e;
}

const char* cudaGetErrorName(cudaError_t err) {
  switch (err) {
    case cudaSuccess: return "cudaSuccess";
    case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
    case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
    case cudaErrorInsufficientDriver: return "cudaErrorInsufficientDriver";
    case cudaErrorLaunchFailure: return "cudaErrorLaunchFailure";
  }
  return "cudaErrorUnknown";
}

const char* cudaGetErrorString(cudaError_t err) {
  switch (err) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInsufficientDriver: return "CUDA driver version is insufficient for CUDA runtime version";
    case cudaErrorLaunchFailure: return g_launch_message.c_str();
  }
  return "unknown error";
}

cudaError_t cudaRuntimeGetVersion(int* v) {
  *v = 13000;
  return cudaSuccess;
}

cudaError_t cudaDriverGetVersion(int* v) {
  *v = 13000;
  return cudaSuccess;
}

cudaError_t cudaGetDeviceCount(int* n) {
  *n = 1;
  return cudaSuccess;
}

cudaError_t cudaGetDeviceProperties(cudaDeviceProp* prop, int device) {
  if (device != 0) return cudaErrorInvalidValue;
  std::memset(prop, 0, sizeof(*prop));
  std::strncpy(prop->name, "moontrain CUDA emulator (CPU)", sizeof(prop->name) - 1);
  prop->totalGlobalMem = size_t(sysconf(_SC_PHYS_PAGES)) * size_t(sysconf(_SC_PAGESIZE));
  prop->major = 8;
  prop->minor = 0;
  return cudaSuccess;
}
