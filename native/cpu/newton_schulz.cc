// Muon's orthogonalisation (NS5, docs/model-and-optimizers.md), batched over same-shape matrices.
//
// Per matrix: transpose when rows > cols so the Gram matrix is the smaller one, X ← X/(‖X‖_F+eps),
// then per step  A = X·Xᵀ,  B = b·A + c·A·A,  X ← a·X + B·X,  and transpose back. A and A·A are
// symmetric, so those products compute one triangle; the axpys ride in the GEMM epilogue. bf16
// stores X, A and B in bf16 between products (fp32 accumulation), as Moonlight does on GPUs.
#include <cmath>
#include <vector>

#include "../core/host_allocator.h"
#include "../core/thread_pool.h"
#include "gemm.h"
#include "nn/row_reduce.h"
#include "nn_ops.h"
#include "linalg_ops.h"

namespace mt::cpu {

namespace {

// dst (rows x cols, or its transpose when `transpose`) = scale · src (rows x cols), both of dtype
// dt, through float rows; transposed in 32 x 32 blocks so both sides are read and written a
// cache line at a time.
void scaled_copy(const char* src, char* dst, DType dt, int64_t rows, int64_t cols, float scale, bool transpose) {
  constexpr int64_t kBlock = 32;
  std::vector<float> buf(static_cast<size_t>(transpose ? kBlock * kBlock : cols));
  if (!transpose) {
    for (int64_t i = 0; i < rows; ++i) {
      nn::load_f32(src, dt, i * cols, cols, buf.data());
      for (int64_t j = 0; j < cols; ++j) buf[j] *= scale;
      nn::store_f32(dst, dt, i * cols, cols, buf.data());
    }
    return;
  }
  float t[kBlock][kBlock];
  for (int64_t i0 = 0; i0 < rows; i0 += kBlock)
    for (int64_t j0 = 0; j0 < cols; j0 += kBlock) {
      const int64_t ni = std::min(kBlock, rows - i0), nj = std::min(kBlock, cols - j0);
      for (int64_t i = 0; i < ni; ++i) nn::load_f32(src, dt, (i0 + i) * cols + j0, nj, buf.data() + i * kBlock);
      for (int64_t j = 0; j < nj; ++j)
        for (int64_t i = 0; i < ni; ++i) t[j][i] = buf[i * kBlock + j] * scale;
      for (int64_t j = 0; j < nj; ++j) nn::store_f32(dst, dt, (j0 + j) * rows + i0, ni, t[j]);
    }
}

// Frobenius norm of n elements of dtype dt, summed in double.
double frobenius(const char* x, DType dt, int64_t n) {
  constexpr int64_t kPiece = 4096;
  float buf[kPiece];
  double sum = 0;
  for (int64_t i = 0; i < n; i += kPiece) {
    const int64_t len = std::min(kPiece, n - i);
    nn::load_f32(x, dt, i, len, buf);
    sum += nn::sum_squares_f64(buf, len);
  }
  return std::sqrt(sum);
}

}  // namespace

Tensor newton_schulz(const Tensor& input, const NewtonSchulzOptions& options) {
  const NewtonSchulzShape shape = newton_schulz_shape(input);
  const int64_t batch = shape.batch, m = shape.m, n = shape.n, r = shape.r, c = shape.c;
  const bool transpose = shape.transpose;
  const DType dt = input.dtype;
  const int64_t es = static_cast<int64_t>(dtype_size(dt));
  Tensor out = empty_tensor(input.shape, dt);
  if (input.numel() == 0) return out;

  HostBuffer<char> x_buf(batch * r * c * es), x_next_buf(batch * r * c * es), a_buf(batch * r * r * es), b_buf(batch * r * r * es);
  char* x = x_buf.data();
  char* x_next = x_next_buf.data();

  // Load (transposed if needed) and normalise by the Frobenius norm, summed in double.
  parallel_for(batch, [&](int64_t q) {
    const char* src = static_cast<const char*>(input.data()) + q * m * n * es;
    const double denom = frobenius(src, dt, m * n) + options.eps;
    const float scale = denom > 0 ? static_cast<float>(1.0 / denom) : 0.f;
    scaled_copy(src, x + q * r * c * es, dt, m, n, scale, transpose);
  });

  std::vector<GemmProblem> gram(batch), poly(batch), update(batch);
  for (const auto& [ca, cb, cc] : options.coefficients) {
    for (int64_t q = 0; q < batch; ++q) {
      const char* xq = x + q * r * c * es;
      char* aq = a_buf.data() + q * r * r * es;
      char* bq = b_buf.data() + q * r * r * es;
      GemmProblem& g = gram[q];  // A = X Xᵀ
      g = GemmProblem{};
      g.M = r; g.N = r; g.K = c;
      g.A = {xq, dt, c, false};
      g.B = {xq, dt, c, true};
      g.C = aq; g.c_dtype = dt; g.ldc = r;
      g.symmetric = true;
      GemmProblem& p = poly[q];  // B = c·A·A + b·A
      p = GemmProblem{};
      p.M = r; p.N = r; p.K = r;
      p.A = {aq, dt, r, false};
      p.B = {aq, dt, r, false};
      p.alpha = cc; p.beta = cb; p.Cin = aq;
      p.C = bq; p.c_dtype = dt; p.ldc = r;
      p.symmetric = true;
      GemmProblem& u = update[q];  // X' = B·X + a·X
      u = GemmProblem{};
      u.M = r; u.N = c; u.K = r;
      u.A = {bq, dt, r, false};
      u.B = {xq, dt, c, false};
      u.alpha = 1.f; u.beta = ca; u.Cin = xq;
      u.C = x_next + q * r * c * es; u.c_dtype = dt; u.ldc = c;
    }
    gemm_batch(gram.data(), batch);
    gemm_batch(poly.data(), batch);
    gemm_batch(update.data(), batch);
    std::swap(x, x_next);
  }

  parallel_for(batch, [&](int64_t q) {
    const size_t bytes = static_cast<size_t>(m * n * es);
    char* dst = static_cast<char*>(out.data()) + q * m * n * es;
    const char* src = x + q * r * c * es;
    if (transpose) scaled_copy(src, dst, dt, r, c, 1.f, true);  // exact: 1 · v, same dtype
    else std::copy(src, src + bytes, dst);
  });
  return out;
}

}  // namespace mt::cpu
