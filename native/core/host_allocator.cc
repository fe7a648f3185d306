#include "host_allocator.h"

#include <sys/mman.h>

#include <cstdlib>
#include <map>
#include <mutex>
#include <string>

#include "error.h"

namespace mt {

namespace {

constexpr size_t kSmallAlign = 64;
constexpr size_t kLarge = size_t(1) << 20;       // blocks from here up are mapped
constexpr size_t kHuge = size_t(2) << 20;        // huge page size and large-block granule
constexpr size_t kCacheLimit = size_t(4) << 30;  // freed large blocks kept for reuse

struct LargeCache {
  std::mutex mu;
  std::multimap<size_t, void*> free_blocks;
  size_t cached = 0;
};

LargeCache& cache() {
  static LargeCache* c = new LargeCache();  // leaked: frees may come from finalizers at exit
  return *c;
}

size_t large_size(size_t bytes) { return (bytes + kHuge - 1) / kHuge * kHuge; }

void* map_large(size_t size) {
  // Over-map by one granule, then trim, to get a 2 MiB-aligned block.
  void* raw = mmap(nullptr, size + kHuge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) return nullptr;
  const uintptr_t start = reinterpret_cast<uintptr_t>(raw);
  const uintptr_t aligned = (start + kHuge - 1) / kHuge * kHuge;
  if (aligned > start) munmap(raw, aligned - start);
  const uintptr_t end = start + size + kHuge;
  if (end > aligned + size) munmap(reinterpret_cast<void*>(aligned + size), end - (aligned + size));
  madvise(reinterpret_cast<void*>(aligned), size, MADV_HUGEPAGE);
  return reinterpret_cast<void*>(aligned);
}

}  // namespace

void* host_alloc(size_t bytes) {
  void* p = nullptr;
  if (bytes < kLarge) {
    p = std::aligned_alloc(kSmallAlign, bytes == 0 ? kSmallAlign : (bytes + kSmallAlign - 1) / kSmallAlign * kSmallAlign);
  } else {
    const size_t size = large_size(bytes);
    {
      LargeCache& c = cache();
      std::lock_guard<std::mutex> lk(c.mu);
      auto it = c.free_blocks.find(size);
      if (it != c.free_blocks.end()) {
        p = it->second;
        c.free_blocks.erase(it);
        c.cached -= size;
        return p;
      }
    }
    p = map_large(size);
    if (!p) {
      host_release_cache();
      p = map_large(size);
    }
  }
  if (!p) throw RuntimeError("alloc", "ERR_MOONTRAIN_OUT_OF_MEMORY", "out of host memory allocating " + std::to_string(bytes) + " bytes");
  return p;
}

void host_free(void* p, size_t bytes) {
  if (!p) return;
  if (bytes < kLarge) {
    std::free(p);
    return;
  }
  const size_t size = large_size(bytes);
  LargeCache& c = cache();
  {
    std::lock_guard<std::mutex> lk(c.mu);
    if (c.cached + size <= kCacheLimit) {
      c.free_blocks.emplace(size, p);
      c.cached += size;
      return;
    }
  }
  munmap(p, size);
}

size_t host_cached_bytes() {
  std::lock_guard<std::mutex> lk(cache().mu);
  return cache().cached;
}

void host_release_cache() {
  LargeCache& c = cache();
  std::lock_guard<std::mutex> lk(c.mu);
  for (auto& [size, p] : c.free_blocks) munmap(p, size);
  c.free_blocks.clear();
  c.cached = 0;
}

}  // namespace mt
