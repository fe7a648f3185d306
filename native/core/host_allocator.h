// Host memory for tensors. Blocks under 64 KiB come from aligned_alloc. Larger ones are mappings
// (from 1 MiB up 2 MiB-aligned with transparent huge pages requested: a fresh 100 MB output
// otherwise costs ~25k page faults, more than the GEMM that fills it), and freed ones are kept in
// a bounded cache by size class, since a training step allocates the same sizes every step.
#pragma once
#include <cstddef>

namespace mt {

void* host_alloc(size_t bytes);  // 64-byte aligned at least; throws RuntimeError when out of memory
void host_free(void* p, size_t bytes);
// Bytes held in the cache of freed large blocks.
size_t host_cached_bytes();
void host_release_cache();

// Uninitialised scratch memory from host_alloc (large blocks come back from the cache without
// page faults or zeroing, unlike a fresh std::vector).
template <typename T>
class HostBuffer {
 public:
  explicit HostBuffer(size_t count) : count_(count), data_(static_cast<T*>(host_alloc(count * sizeof(T)))) {}
  ~HostBuffer() { host_free(data_, count_ * sizeof(T)); }
  HostBuffer(const HostBuffer&) = delete;
  HostBuffer& operator=(const HostBuffer&) = delete;
  T* data() const { return data_; }

 private:
  size_t count_;
  T* data_;
};

}  // namespace mt
