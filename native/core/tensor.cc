#include "tensor.h"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <new>

#include "error.h"
#include "cuda_allocator.h"
#include "host_allocator.h"

namespace mt {

namespace {
std::atomic<bool> g_poison{std::getenv("MOONTRAIN_POISON") != nullptr};
}  // namespace

void set_poison_allocations(bool on) { g_poison.store(on); }
bool poison_allocations() { return g_poison.load(); }

namespace {
std::atomic<int64_t> g_live_count{0}, g_live_bytes{0};
}  // namespace

Storage::Storage(size_t n, Device dev) : bytes(n), device(dev) {
  data = dev == Device::CUDA ? cuda_alloc(n) : host_alloc(n);
  g_live_count.fetch_add(1);
  g_live_bytes.fetch_add(static_cast<int64_t>(n));
}

Storage::~Storage() {
  if (device == Device::CUDA) cuda_free(data, bytes);
  else host_free(data, bytes);
  g_live_count.fetch_sub(1);
  g_live_bytes.fetch_sub(static_cast<int64_t>(bytes));
}

LiveStorage live_storage() { return {g_live_count.load(), g_live_bytes.load()}; }

int64_t Tensor::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

Tensor empty_tensor(const Shape& shape, DType dtype, Device device) {
  Tensor t;
  t.shape = shape;
  t.dtype = dtype;
  t.storage = std::make_shared<Storage>(t.nbytes(), device);
  if (poison_allocations() && device == Device::CPU) {
    if (dtype == DType::F32) {
      float* p = static_cast<float*>(t.data());
      for (int64_t i = 0, n = t.numel(); i < n; ++i) p[i] = __builtin_nanf("");
    } else if (dtype == DType::I32) {
      int32_t* p = static_cast<int32_t*>(t.data());
      for (int64_t i = 0, n = t.numel(); i < n; ++i) p[i] = INT32_MIN;
    } else {
      bf16_t* p = static_cast<bf16_t*>(t.data());
      for (int64_t i = 0, n = t.numel(); i < n; ++i) p[i] = 0x7fc0;
    }
  }
  return t;
}

Tensor zeros_tensor(const Shape& shape, DType dtype, Device device) {
  Tensor t = empty_tensor(shape, dtype, device);
  if (device == Device::CUDA) cuda_zero(t.data(), t.nbytes());
  else std::memset(t.data(), 0, t.nbytes());
  return t;
}

Tensor to_device(const Tensor& t, Device device) {
  if (t.device() == device) return t;
  Tensor r = empty_tensor(t.shape, t.dtype, device);
  cuda_copy(r.data(), t.data(), t.nbytes(), device == Device::CUDA, t.device() == Device::CUDA);
  return r;
}

std::string shape_str(const Shape& s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i) {
    if (i) r += ", ";
    r += std::to_string(s[i]);
  }
  return r + "]";
}

bool overlaps(const Tensor& a, const Tensor& b) {
  if (!a.storage || a.storage != b.storage || a.nbytes() == 0 || b.nbytes() == 0) return false;
  return a.offset < b.offset + b.nbytes() && b.offset < a.offset + a.nbytes();
}

}  // namespace mt
