// Elementwise arithmetic, conversions, the sum of squares (for gradient norms) and last-dimension
// split/concat (MLA separates q_nope/q_rope and k_nope/k_rope/v with them).
#include "../nn_ops.h"
#include "row_reduce.h"

namespace mt::cpu {

using namespace nn;

namespace {

constexpr int64_t kChunk = 16384;

// One pass over elements of a single dtype T (float or bf16_t), widened to float for f.
template <typename T, typename F>
void map2_same(const T* a, const T* b, T* out, int64_t i0, int64_t i1, F f) {
  if (b)
    for (int64_t i = i0; i < i1; ++i) out[i] = narrow<T>(f(widen(a[i]), widen(b[i])));
  else
    for (int64_t i = i0; i < i1; ++i) out[i] = narrow<T>(f(widen(a[i]), 0.0f));
}

// out = f(a[i], b[i]) over chunks, computed in float.
template <typename F>
void map2(const Tensor& a, const Tensor* b, const Tensor& out, F f) {
  if (a.dtype == out.dtype && (!b || b->dtype == out.dtype)) {  // the common case: no staging buffers
    with_element_type(out.dtype, [&](auto zero) {
      using T = decltype(zero);
      const T* pa = static_cast<const T*>(a.data());
      const T* pb = b ? static_cast<const T*>(b->data()) : nullptr;
      T* po = static_cast<T*>(out.data());
      parallel_chunks(a.numel(), kChunk, [&](int64_t i0, int64_t i1) { map2_same(pa, pb, po, i0, i1, f); });
    });
    return;
  }
  parallel_chunks(a.numel(), kChunk, [&](int64_t i0, int64_t i1) {
    const int64_t m = i1 - i0;
    std::vector<float> x(static_cast<size_t>(m)), y(b ? static_cast<size_t>(m) : 0);
    load_f32(a.data(), a.dtype, i0, m, x.data());
    if (b) load_f32(b->data(), b->dtype, i0, m, y.data());
    for (int64_t i = 0; i < m; ++i) x[i] = f(x[i], b ? y[i] : 0.0f);
    store_f32(out.data(), out.dtype, i0, m, x.data());
  });
}

// Rows of the last dimension (a rank-1 tensor is one row).
int64_t last_dim(const Tensor& t) { return t.shape.empty() ? 1 : t.shape.back(); }

}  // namespace

Tensor add(const Tensor& a, const Tensor& b, float alpha) {
  Tensor out = empty_tensor(a.shape, a.dtype);
  map2(a, &b, out, [alpha](float x, float y) { return x + alpha * y; });
  return out;
}

Tensor scale(const Tensor& a, float s) {
  Tensor out = empty_tensor(a.shape, a.dtype);
  map2(a, nullptr, out, [s](float x, float) { return s * x; });
  return out;
}

void scale_in_place(const Tensor& t, float s) { map2(t, nullptr, t, [s](float x, float) { return s * x; }); }

Tensor copy(const Tensor& src, DType dtype) {
  Tensor out = empty_tensor(src.shape, dtype);
  map2(src, nullptr, out, [](float x, float) { return x; });
  return out;
}

void assign(const Tensor& dst, const Tensor& src) { map2(src, nullptr, dst, [](float x, float) { return x; }); }

// Double partial sums over blocks of kChunk elements of each row, added in order within the row,
// then the rows in order: the same bits for any thread count, and a long row (a flat gradient)
// spread over the threads.
double sum_squares(const Tensor& t) {
  const int64_t n = t.numel(), cols = last_dim(t), rows = cols > 0 ? n / cols : 0;
  const int64_t blocks = (cols + kChunk - 1) / kChunk;
  std::vector<double> partial(static_cast<size_t>(rows * blocks), 0.0);
  parallel_chunks(rows * blocks, grain_for(std::min(cols, kChunk)), [&](int64_t i0, int64_t i1) {
    std::vector<float> buf(static_cast<size_t>(std::min(cols, kChunk)));
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t r = i / blocks, c0 = (i % blocks) * kChunk, len = std::min(kChunk, cols - c0);
      load_f32(t.data(), t.dtype, r * cols + c0, len, buf.data());
      partial[i] = sum_squares_f64(buf.data(), len);
    }
  });
  double total = 0;
  for (int64_t r = 0; r < rows; ++r) {
    double row = 0;
    for (int64_t b = 0; b < blocks; ++b) row += partial[r * blocks + b];
    total += row;
  }
  return total;
}

namespace {
// Elements after `axis` (one step along it) and the blocks before it: a tensor is outer blocks of
// shape[axis] * inner contiguous elements.
int64_t inner_of(const Shape& shape, int axis) {
  int64_t n = 1;
  for (size_t d = static_cast<size_t>(axis) + 1; d < shape.size(); ++d) n *= shape[d];
  return n;
}
}  // namespace

std::vector<Tensor> split(const Tensor& x, const std::vector<int64_t>& sizes, int64_t axis) {
  const int a = static_cast<int>(axis);
  const int64_t inner = inner_of(x.shape, a), cols = x.shape[a] * inner, rows = cols > 0 ? x.numel() / cols : 0;
  const size_t es = dtype_size(x.dtype);
  std::vector<Tensor> parts;
  for (int64_t s : sizes) {
    Shape shape = x.shape;
    shape[a] = s;
    parts.push_back(empty_tensor(shape, x.dtype));
  }
  // rows is 0 when the split dimension is 0; then every part is empty too.
  const char* src = static_cast<const char*>(x.data());
  parallel_chunks(rows, grain_for(cols), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      int64_t c0 = 0;
      for (size_t p = 0; p < sizes.size(); ++p) {
        const int64_t w = sizes[p] * inner;
        if (w > 0) std::memcpy(static_cast<char*>(parts[p].data()) + r * w * es, src + (r * cols + c0) * es, w * es);
        c0 += w;
      }
    }
  });
  return parts;
}

Tensor concat(const std::vector<Tensor>& parts, int64_t axis) {
  const int a = static_cast<int>(axis);
  Shape shape = parts[0].shape;
  shape[a] = 0;
  for (const Tensor& p : parts) shape[a] += p.shape[a];
  const int64_t inner = inner_of(shape, a), cols = shape[a] * inner;
  Tensor out = empty_tensor(shape, parts[0].dtype);
  const size_t es = dtype_size(out.dtype);
  const int64_t rows = cols > 0 ? out.numel() / cols : 0;
  char* dst = static_cast<char*>(out.data());
  parallel_chunks(rows, grain_for(cols), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      int64_t c0 = 0;
      for (const Tensor& p : parts) {
        const int64_t w = p.shape[a] * inner;
        if (w > 0) std::memcpy(dst + (r * cols + c0) * es, static_cast<const char*>(p.data()) + r * w * es, w * es);
        c0 += w;
      }
    }
  });
  return out;
}

}  // namespace mt::cpu
