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
constexpr size_t kMedium = size_t(64) << 10;     // blocks from here up are mapped and cached
constexpr size_t kLarge = size_t(1) << 20;       // blocks from here up get 2 MiB huge pages
constexpr size_t kHuge = size_t(2) << 20;        // huge page size and large-block granule
constexpr size_t kCacheLimit = size_t(4) << 30;  // freed mapped blocks kept for reuse

struct LargeCache {
  std::mutex mu;
  std::multimap<size_t, void*> free_blocks;
  size_t cached = 0;
};

LargeCache& cache() {
  static LargeCache* c = new LargeCache();  // leaked: frees may come from finalizers at exit
  return *c;
}

// Mapped blocks come in size classes: multiples of 64 KiB below 1 MiB, of 2 MiB above. A training
// step allocates the same sizes every step, so after the first one they come from the cache,
// without page faults (measured: ~5,900 faults per tiny step when blocks under 1 MiB went through
// malloc, which returns them to the system).
size_t block_size(size_t bytes) {
  const size_t granule = bytes >= kLarge ? kHuge : kMedium;
  return (bytes + granule - 1) / granule * granule;
}

void* map_medium(size_t size) {
  void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  return p == MAP_FAILED ? nullptr : p;
}

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
  if (bytes < kMedium) {
    p = std::aligned_alloc(kSmallAlign, bytes == 0 ? kSmallAlign : (bytes + kSmallAlign - 1) / kSmallAlign * kSmallAlign);
  } else {
    const size_t size = block_size(bytes);
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
    const auto map = size >= kLarge ? map_large : map_medium;
    p = map(size);
    if (!p) {
      host_release_cache();
      p = map(size);
    }
  }
  if (!p) throw RuntimeError("alloc", "ERR_MOONTRAIN_OUT_OF_MEMORY", "out of host memory allocating " + std::to_string(bytes) + " bytes");
  return p;
}

void host_free(void* p, size_t bytes) {
  if (!p) return;
  if (bytes < kMedium) {
    std::free(p);
    return;
  }
  const size_t size = block_size(bytes);
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
