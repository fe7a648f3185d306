// Elementwise arithmetic and conversions (add, scale, scale in place, copy, assign), the strided
// row copies of split and concat, and the sum of squares: bodies shared by nvcc and the emulator.
#pragma once

#include "simt_common.cuh"

namespace mt::kern {

enum class MapOp { Add, Scale, Copy };

// out[i] = a[i] + k*b[i] (Add), k*a[i] (Scale) or a[i] (Copy), in float; out may be a.
template <class TA, class TO>
struct MapArgs {
  const TA* a = nullptr;
  const TA* b = nullptr;
  TO* out = nullptr;
  int64_t n = 0;
  float k = 0;
};

template <MapOp Op, class TA, class TO>
MT_DEVICE void map_body(const MapArgs<TA, TO>& p) {
  for (int64_t i = global_index(); i < p.n; i += grid_stride()) {
    const float x = to_f32(p.a[i]);
    float y = x;
    if constexpr (Op == MapOp::Add) y = x + p.k * to_f32(p.b[i]);
    if constexpr (Op == MapOp::Scale) y = p.k * x;
    p.out[i] = from_f32<TO>(y);
  }
}

// dst[r*dst_ld + dst_col0 + c] = src[r*src_ld + src_col0 + c] for r < rows, c < width: one part
// of a split or a concat along any axis (a tensor seen as rows of shape[axis]*inner elements).
// T is an element of the right size (uint16_t, uint32_t): the bits are copied.
template <class T>
struct CopyRowsArgs {
  const T* src = nullptr;
  T* dst = nullptr;
  int64_t rows = 0, width = 0, src_ld = 0, src_col0 = 0, dst_ld = 0, dst_col0 = 0;
};

// A tensor of `shape` seen along `axis`: rows (the dimensions before it) of shape[axis] * inner
// elements (inner: the dimensions after it).
struct AxisView {
  int64_t rows = 0, inner = 1, cols = 0;
};
inline AxisView axis_view(const int64_t* shape, int rank, int axis) {
  AxisView v;
  int64_t outer = 1;
  for (int d = 0; d < axis; ++d) outer *= shape[d];
  for (int d = axis + 1; d < rank; ++d) v.inner *= shape[d];
  v.cols = shape[axis] * v.inner;
  v.rows = v.cols > 0 ? outer : 0;
  return v;
}

template <class T>
MT_DEVICE void copy_rows_body(const CopyRowsArgs<T>& p) {
  const int64_t n = p.rows * p.width;
  for (int64_t i = global_index(); i < n; i += grid_stride()) {
    const int64_t r = i / p.width, c = i % p.width;
    p.dst[r * p.dst_ld + p.dst_col0 + c] = p.src[r * p.src_ld + p.src_col0 + c];
  }
}

// The sum of squares in two launches with a fixed partition, so the bits never vary: block b
// sums elements [b*kChunk, (b+1)*kChunk) in double (each thread a strided share, then the block's
// tree) into partial[b]; then one block sums the partials the same way.
struct SumSquares {
  static constexpr int kThreads = 256;
  static constexpr int64_t kChunk = 4096;
  static constexpr size_t kSmemBytes = kThreads * sizeof(double);
  static unsigned blocks(int64_t n) { return unsigned((n + kChunk - 1) / kChunk); }
};

template <class T>
MT_DEVICE void sum_squares_partial_body(const T* x, int64_t n, double* partial) {
  const int64_t b = dev::block_idx().x, i0 = b * SumSquares::kChunk;
  const int64_t i1 = i0 + SumSquares::kChunk < n ? i0 + SumSquares::kChunk : n;
  double s = 0;
  for (int64_t i = i0 + dev::thread_rank(); i < i1; i += SumSquares::kThreads) {
    const double v = to_f32(x[i]);
    s += v * v;
  }
  s = block_reduce<SumSquares::kThreads>(dev::shared_at<double>(0), s, SumOp{});
  if (dev::thread_rank() == 0) partial[b] = s;
}

MT_DEVICE void sum_partials_body(const double* partial, int64_t count, double* out) {
  double s = 0;
  for (int64_t i = dev::thread_rank(); i < count; i += SumSquares::kThreads) s += partial[i];
  s = block_reduce<SumSquares::kThreads>(dev::shared_at<double>(0), s, SumOp{});
  if (dev::thread_rank() == 0) *out = s;
}

}  // namespace mt::kern
