// The elementwise ops, conversions, split / concat and the sum of squares on the GPU (bodies in
// kernels/elementwise.cuh).
#include "../op_types.h"
#include "kernels/elementwise.cuh"
#include "launch.h"

namespace mt::cuda {
namespace {

using kern::Elementwise;

template <kern::MapOp Op, class TA, class TO>
__global__ void __launch_bounds__(Elementwise::kThreads) map_kernel(kern::MapArgs<TA, TO> p) { kern::map_body<Op>(p); }

template <class T>
__global__ void __launch_bounds__(Elementwise::kThreads) copy_rows_kernel(kern::CopyRowsArgs<T> p) { kern::copy_rows_body(p); }

template <class T>
__global__ void __launch_bounds__(kern::SumSquares::kThreads) sum_squares_partial_kernel(const T* x, int64_t n, double* partial) {
  kern::sum_squares_partial_body(x, n, partial);
}
__global__ void __launch_bounds__(kern::SumSquares::kThreads) sum_partials_kernel(const double* partial, int64_t count, double* out) {
  kern::sum_partials_body(partial, count, out);
}

template <kern::MapOp Op>
void map(const char* op, const Tensor& a, const Tensor* b, const Tensor& out, float k) {
  const int64_t n = a.numel();
  with_type(a.dtype, [&](auto ta) {
    with_type(out.dtype, [&](auto to) {
      using TA = decltype(ta);
      using TO = decltype(to);
      kern::MapArgs<TA, TO> p{a.ptr<TA>(), b ? b->ptr<TA>() : nullptr, out.ptr<TO>(), n, k};
      launch(op, "map_kernel", map_kernel<Op, TA, TO>, to_dim3(Elementwise::grid(n)), to_dim3(Elementwise::block()), 0, p);
    });
  });
}

// Copies columns [src_col0, src_col0 + width) of each row of src to columns [dst_col0, ...) of dst.
void copy_rows(const char* op, const Tensor& src, const Tensor& dst, int64_t rows, int64_t width, int64_t src_ld, int64_t src_col0, int64_t dst_ld, int64_t dst_col0) {
  if (rows * width == 0) return;
  const auto run = [&](auto zero) {
    using E = decltype(zero);
    kern::CopyRowsArgs<E> p{src.ptr<E>(), dst.ptr<E>(), rows, width, src_ld, src_col0, dst_ld, dst_col0};
    launch(op, "copy_rows_kernel", copy_rows_kernel<E>, to_dim3(Elementwise::grid(rows * width)), to_dim3(Elementwise::block()), 0, p);
  };
  if (dtype_size(src.dtype) == 2) run(uint16_t{});
  else run(uint32_t{});
}

}  // namespace

Tensor add(const Tensor& a, const Tensor& b, float alpha) {
  Tensor out = empty_tensor(a.shape, a.dtype, Device::CUDA);
  map<kern::MapOp::Add>("add", a, &b, out, alpha);
  return out;
}

Tensor scale(const Tensor& a, float s) {
  Tensor out = empty_tensor(a.shape, a.dtype, Device::CUDA);
  map<kern::MapOp::Scale>("scale", a, nullptr, out, s);
  return out;
}

void scale_in_place(const Tensor& t, float s) { map<kern::MapOp::Scale>("scaleInPlace", t, nullptr, t, s); }

Tensor copy(const Tensor& src, DType dtype) {
  Tensor out = empty_tensor(src.shape, dtype, Device::CUDA);
  map<kern::MapOp::Copy>("copy", src, nullptr, out, 0);
  return out;
}

void assign(const Tensor& dst, const Tensor& src) { map<kern::MapOp::Copy>("assign", src, nullptr, dst, 0); }

std::vector<Tensor> split(const Tensor& x, const std::vector<int64_t>& sizes, int64_t axis) {
  const kern::AxisView v = kern::axis_view(x.shape.data(), x.rank(), int(axis));
  std::vector<Tensor> parts;
  int64_t c0 = 0;
  for (int64_t s : sizes) {
    Shape shape = x.shape;
    shape[axis] = s;
    parts.push_back(empty_tensor(shape, x.dtype, Device::CUDA));
    copy_rows("split", x, parts.back(), v.rows, s * v.inner, v.cols, c0, s * v.inner, 0);
    c0 += s * v.inner;
  }
  return parts;
}

Tensor concat(const std::vector<Tensor>& parts, int64_t axis) {
  Shape shape = parts[0].shape;
  shape[axis] = 0;
  for (const Tensor& p : parts) shape[axis] += p.shape[axis];
  Tensor out = empty_tensor(shape, parts[0].dtype, Device::CUDA);
  const kern::AxisView v = kern::axis_view(shape.data(), int(shape.size()), int(axis));
  int64_t c0 = 0;
  for (const Tensor& p : parts) {
    const int64_t w = p.shape[axis] * v.inner;
    copy_rows("concat", p, out, v.rows, w, w, 0, v.cols, c0);
    c0 += w;
  }
  return out;
}

double sum_squares(const Tensor& t) {
  const int64_t n = t.numel();
  if (n == 0) return 0;
  const unsigned blocks = kern::SumSquares::blocks(n);
  DeviceBuffer partial(blocks * sizeof(double)), total(sizeof(double));
  const dim3 block(kern::SumSquares::kThreads);
  with_type(t.dtype, [&](auto zero) {
    using T = decltype(zero);
    launch("sumSquares", "sum_squares_partial_kernel", sum_squares_partial_kernel<T>, blocks, block, kern::SumSquares::kSmemBytes, t.ptr<T>(), n, partial.as<double>());
  });
  launch("sumSquares", "sum_partials_kernel", sum_partials_kernel, 1, block, kern::SumSquares::kSmemBytes, partial.as<double>(), blocks, total.as<double>());
  double r = 0;
  cuda_copy(&r, total.as<double>(), sizeof(double), false, true);
  return r;
}

}  // namespace mt::cuda
