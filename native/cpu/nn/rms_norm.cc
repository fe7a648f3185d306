// RMSNorm: y = x * rstd * weight with rstd = 1/sqrt(mean(x^2) + eps), per row of x [T,D].
#include <cmath>

#include "../nn_ops.h"
#include "nn_avx512.h"
#include "row_reduce.h"

namespace mt::cpu {

using namespace nn;

RmsNormResult rms_norm(const Tensor& x, const Tensor& weight, double eps) {
  const int64_t T = x.shape[0], D = x.shape[1];
  RmsNormResult r{empty_tensor({T, D}, x.dtype), empty_tensor({T}, DType::F32)};
  std::vector<float> w(static_cast<size_t>(D));
  load_f32(weight.data(), weight.dtype, 0, D, w.data());
  float* rstd = f32_mut(r.rstd);
  const bool wide = avx512_rows();
  parallel_chunks(T, grain_for(D), [&](int64_t t0, int64_t t1) {
    std::vector<float> row(static_cast<size_t>(wide ? 0 : D));
    for (int64_t t = t0; t < t1; ++t) {
      if (wide) {
        rstd[t] = avx512::rms_norm_row(x.data(), x.dtype, t * D, D, w.data(), eps, r.y.data());
        continue;
      }
      load_f32(x.data(), x.dtype, t * D, D, row.data());
      const double ss = sum_squares_f64(row.data(), D);
      const float rs = static_cast<float>(1.0 / std::sqrt(ss / static_cast<double>(D) + eps));
      rstd[t] = rs;
      for (int64_t j = 0; j < D; ++j) row[j] = row[j] * rs * w[j];
      store_f32(r.y.data(), r.y.dtype, t * D, D, row.data());
    }
  });
  return r;
}

// dx = rstd * (g - x * rstd^2 * mean(g * x)) with g = dy * weight;
// dweight[j] = sum over rows t (in order) of dy[t,j] * x[t,j] * rstd[t].
RmsNormGrads rms_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& weight, const Tensor& rstd) {
  const int64_t T = x.shape[0], D = x.shape[1];
  RmsNormGrads g{empty_tensor({T, D}, x.dtype), empty_tensor({D}, weight.dtype)};
  std::vector<float> w(static_cast<size_t>(D));
  load_f32(weight.data(), weight.dtype, 0, D, w.data());
  const float* rs = f32_data(rstd);
  // The two terms of dx nearly cancel when x is almost parallel to g (e.g. D = 1): in double for
  // an f32 dx; a bf16 dx keeps 8 bits, so float's 24 leave 16 bits for the cancellation.
  const bool reduced = g.dx.dtype == DType::BF16;
  const bool wide = avx512_rows() && dy.dtype == x.dtype;
  // dweight in the same pass as dx: each chunk of rows sums its rows in order into its own
  // partial sums (in double), which are then added in chunk order; the chunks do not depend on
  // the thread count. (A second pass over the columns read dy and x again: backward -40%.)
  const int64_t grain = grain_for(2 * D), chunks = (T + grain - 1) / grain;
  std::vector<double> partial(static_cast<size_t>(chunks * D), 0.0);
  parallel_chunks(T, grain, [&](int64_t t0, int64_t t1) {
    std::vector<float> xr(static_cast<size_t>(D)), gr(static_cast<size_t>(D));
    double* dw = partial.data() + (t0 / grain) * D;
    for (int64_t t = t0; t < t1; ++t) {
      if (wide) {
        avx512::rms_norm_backward_row(dy.data(), x.data(), x.dtype, t * D, D, w.data(), rs[t], g.dx.data(), dw);
        continue;
      }
      load_f32(x.data(), x.dtype, t * D, D, xr.data());
      load_f32(dy.data(), dy.dtype, t * D, D, gr.data());
      for (int64_t j = 0; j < D; ++j) dw[j] += static_cast<double>(gr[j]) * xr[j] * rs[t];
      const double dot = dot_f64(gr.data(), w.data(), xr.data(), D);
      const double r = rs[t];
      const double c = r * r * r * dot / static_cast<double>(D);
      if (reduced) {
        const float rf = static_cast<float>(r), cf = static_cast<float>(c);
        for (int64_t j = 0; j < D; ++j) gr[j] = rf * (gr[j] * w[j]) - cf * xr[j];
      } else {
        for (int64_t j = 0; j < D; ++j) gr[j] = static_cast<float>(r * (static_cast<double>(gr[j]) * w[j]) - c * xr[j]);
      }
      store_f32(g.dx.data(), g.dx.dtype, t * D, D, gr.data());
    }
  });

  std::vector<float> dweight(static_cast<size_t>(D));
  for (int64_t j = 0; j < D; ++j) {
    double sum = 0;
    for (int64_t c = 0; c < chunks; ++c) sum += partial[c * D + j];
    dweight[j] = static_cast<float>(sum);
  }
  store_f32(g.dweight.data(), g.dweight.dtype, 0, D, dweight.data());
  return g;
}

}  // namespace mt::cpu
