// The stream-ordered caching allocator of native/core/cuda_allocator.h. Sizes are rounded to
// size classes (512 B granules below 1 MiB, 2 MiB above), since a training step allocates the same
// sizes every step; a request is served from the stream's free list of its class when it can be,
// else by cudaMalloc, and when the device is out of memory the cache is released and it retries.
#include <cuda_runtime.h>

#include <map>
#include <mutex>
#include <string>

#include "../core/cuda_allocator.h"
#include "../core/error.h"

namespace mt {

namespace {

constexpr size_t kSmallGranule = 512;
constexpr size_t kLarge = size_t(1) << 20;
constexpr size_t kLargeGranule = size_t(2) << 20;

size_t size_class(size_t bytes) {
  const size_t g = bytes >= kLarge ? kLargeGranule : kSmallGranule;
  return (bytes == 0 ? 1 : (bytes + g - 1) / g) * g;
}

struct Pool {
  std::mutex mu;
  std::map<CudaStream, std::multimap<size_t, void*>> free_blocks;  // per stream, by size class
  size_t cached = 0;
};

Pool& pool() {
  static Pool* p = new Pool();  // leaked: frees may come from finalizers at exit
  return *p;
}

[[noreturn]] void fail(const char* what, cudaError_t err, size_t bytes) {
  throw RuntimeError("alloc", err == cudaErrorMemoryAllocation ? "ERR_MOONTRAIN_OUT_OF_MEMORY" : "ERR_MOONTRAIN_CUDA",
                     std::string(what) + " " + std::to_string(bytes) + " bytes: " + cudaGetErrorString(err));
}

}  // namespace

void* cuda_alloc(size_t bytes, CudaStream stream) {
  const size_t size = size_class(bytes);
  Pool& p = pool();
  {
    std::lock_guard<std::mutex> lk(p.mu);
    auto& blocks = p.free_blocks[stream];
    auto it = blocks.find(size);
    if (it != blocks.end()) {
      void* ptr = it->second;
      blocks.erase(it);
      p.cached -= size;
      return ptr;
    }
  }
  void* ptr = nullptr;
  cudaError_t err = cudaMalloc(&ptr, size);
  if (err == cudaErrorMemoryAllocation) {
    cudaGetLastError();  // clear the sticky-free error state before retrying
    cuda_release_cache();
    err = cudaMalloc(&ptr, size);
  }
  if (err != cudaSuccess) fail("cudaMalloc of", err, bytes);
  return ptr;
}

void cuda_free(void* ptr, size_t bytes, CudaStream stream) {
  if (!ptr) return;
  Pool& p = pool();
  std::lock_guard<std::mutex> lk(p.mu);
  p.free_blocks[stream].emplace(size_class(bytes), ptr);
  p.cached += size_class(bytes);
}

void cuda_zero(void* ptr, size_t bytes, CudaStream stream) {
  const cudaError_t err = cudaMemsetAsync(ptr, 0, bytes, static_cast<cudaStream_t>(stream));
  if (err != cudaSuccess) fail("cudaMemsetAsync of", err, bytes);
}

void cuda_copy(void* dst, const void* src, size_t bytes, bool dst_on_device, bool src_on_device) {
  const cudaMemcpyKind kind = dst_on_device ? (src_on_device ? cudaMemcpyDeviceToDevice : cudaMemcpyHostToDevice)
                                            : (src_on_device ? cudaMemcpyDeviceToHost : cudaMemcpyHostToHost);
  const cudaError_t err = cudaMemcpy(dst, src, bytes, kind);
  if (err != cudaSuccess) fail("cudaMemcpy of", err, bytes);
}

size_t cuda_cached_bytes() {
  std::lock_guard<std::mutex> lk(pool().mu);
  return pool().cached;
}

void cuda_release_cache() {
  Pool& p = pool();
  std::lock_guard<std::mutex> lk(p.mu);
  cudaDeviceSynchronize();  // blocks may still be in use by queued work
  for (auto& [stream, blocks] : p.free_blocks)
    for (auto& [size, ptr] : blocks) cudaFree(ptr);
  p.free_blocks.clear();
  p.cached = 0;
}

}  // namespace mt
