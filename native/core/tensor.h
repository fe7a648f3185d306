// Native tensor storage: a contiguous row-major buffer of one dtype on one device. A tensor is a
// window of its storage (an offset and a shape): reshape and narrow make views sharing it.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dtype.h"

namespace mt {

enum class Device : uint8_t { CPU = 0, CUDA = 1 };
inline const char* device_name(Device d) { return d == Device::CUDA ? "cuda" : "cpu"; }

using Shape = std::vector<int64_t>;

// Largest element count a tensor may hold (2^40 elements); guards overflow of byte sizes.
constexpr int64_t kMaxElements = int64_t(1) << 40;
constexpr int kMaxRank = 4;

// Memory of one device, from that device's allocator, returned to it when the last tensor using it
// goes.
// What the op that made an i32 index tensor guarantees of its entries, so that the ops taking it
// need not check them again (on a GPU each check would be a device-to-host copy). A tensor the
// user made carries none and is checked where it is passed. No op writes into an i32 tensor.
struct IndexFacts {
  int64_t bound = 0;         // every entry is in [0, bound) (0: not known)
  bool permutation = false;  // the entries are a permutation of [0, count)
  int64_t sum = -1;          // the entries are >= 0 and sum to this (-1: not known)
};

struct Storage {
  void* data = nullptr;
  size_t bytes = 0;
  Device device = Device::CPU;
  IndexFacts facts;
  Storage(size_t bytes, Device device);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
};

struct Tensor {
  Shape shape;
  DType dtype = DType::F32;
  std::shared_ptr<Storage> storage;
  size_t offset = 0;  // bytes from the start of the storage to element 0

  int64_t numel() const;
  size_t nbytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype); }
  int rank() const { return static_cast<int>(shape.size()); }
  void* data() const { return storage && storage->data ? static_cast<char*>(storage->data) + offset : nullptr; }
  Device device() const { return storage ? storage->device : Device::CPU; }
  // The facts hold for the whole storage; a view of part of it knows none.
  const IndexFacts& facts() const {
    static const IndexFacts none;
    return offset == 0 && nbytes() == storage->bytes ? storage->facts : none;
  }
  template <typename T>
  T* ptr() const { return static_cast<T*>(data()); }
};

// A new tensor from the allocator of its device (host: host_allocator.h; CUDA: cuda_allocator.h).
// Contents uninitialised (on the host NaN-poisoned when poisoning is on). A backend's kernels
// allocate their outputs on the device of their inputs.
Tensor empty_tensor(const Shape& shape, DType dtype, Device device = Device::CPU);
Tensor zeros_tensor(const Shape& shape, DType dtype, Device device = Device::CPU);
// A copy of t on `device` (t itself when it is there already). Copies to and from CUDA are
// synchronous.
Tensor to_device(const Tensor& t, Device device);
// Debug aid for tests: fill every new allocation with NaN so an op that forgets to write an
// element is caught.
void set_poison_allocations(bool on);
bool poison_allocations();

std::string shape_str(const Shape& s);

// Whether a and b share any byte of memory (views of one storage whose windows meet).
bool overlaps(const Tensor& a, const Tensor& b);

// Live tensor storages and their bytes (for leak tests).
struct LiveStorage {
  int64_t count, bytes;
};
LiveStorage live_storage();

}  // namespace mt
