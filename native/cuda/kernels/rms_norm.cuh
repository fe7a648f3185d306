// RMSNorm over rows of x [T,D]: y = x * rstd * w, rstd = 1/sqrt(mean(x^2) + eps), one block per
// row with the sum of squares in double (fixed-order tree). The backward: dx per row (one block
// per row), dweight per column (one thread per column, rows summed in order, in double).
#pragma once

#include "simt_common.cuh"

namespace mt::kern {

template <class T>
struct RmsNormArgs {
  const T *x = nullptr, *w = nullptr, *dy = nullptr;  // dy: backward only
  T *y = nullptr, *dx = nullptr, *dw = nullptr;
  float* rstd = nullptr;  // written by the forward, read by the backward
  int64_t rows = 0, D = 0;
  double eps = 0;
};

template <class T>
MT_DEVICE void rms_norm_body(const RmsNormArgs<T>& a) {
  const int64_t t = dev::block_idx().x, off = t * a.D;
  double ss = 0;
  for (int64_t j = dev::thread_rank(); j < a.D; j += RowBlock::kThreads) {
    const double v = to_f32(a.x[off + j]);
    ss += v * v;
  }
  ss = block_reduce<RowBlock::kThreads>(dev::shared_at<double>(0), ss, SumOp{});
  const float rs = float(1.0 / sqrt(ss / double(a.D) + a.eps));
  if (dev::thread_rank() == 0) a.rstd[t] = rs;
  for (int64_t j = dev::thread_rank(); j < a.D; j += RowBlock::kThreads) a.y[off + j] = from_f32<T>(to_f32(a.x[off + j]) * rs * to_f32(a.w[j]));
}

// dx = rstd (g - x rstd^2 mean(g x)) with g = dy w; in double for an f32 dx (the two terms nearly
// cancel when x is almost parallel to g), in float for bf16 (as the CPU kernel).
template <class T>
MT_DEVICE void rms_norm_backward_dx_body(const RmsNormArgs<T>& a) {
  const int64_t t = dev::block_idx().x, off = t * a.D;
  double dot = 0;
  for (int64_t j = dev::thread_rank(); j < a.D; j += RowBlock::kThreads) dot += double(to_f32(a.dy[off + j])) * to_f32(a.w[j]) * to_f32(a.x[off + j]);
  dot = block_reduce<RowBlock::kThreads>(dev::shared_at<double>(0), dot, SumOp{});
  const double r = a.rstd[t], c = r * r * r * dot / double(a.D);
  constexpr bool reduced = sizeof(T) == 2;
  for (int64_t j = dev::thread_rank(); j < a.D; j += RowBlock::kThreads) {
    const float g = to_f32(a.dy[off + j]), w = to_f32(a.w[j]), x = to_f32(a.x[off + j]);
    const float v = reduced ? float(r) * (g * w) - float(c) * x : float(r * (double(g) * w) - c * x);
    a.dx[off + j] = from_f32<T>(v);
  }
}

template <class T>
MT_DEVICE void rms_norm_backward_dw_body(const RmsNormArgs<T>& a) {
  for (int64_t j = global_index(); j < a.D; j += grid_stride()) {
    double s = 0;
    for (int64_t t = 0; t < a.rows; ++t) s += double(to_f32(a.dy[t * a.D + j])) * to_f32(a.x[t * a.D + j]) * a.rstd[t];
    a.dw[j] = from_f32<T>(float(s));
  }
}

}  // namespace mt::kern
