// Muon's orthogonalisation (method.md §1.2), batched over same-shape matrices.
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
#include "ops.h"

namespace mt::cpu {

Tensor newton_schulz(const Tensor& input, const NewtonSchulzOptions& options) {
  const bool batched = input.rank() == 3;
  const int64_t batch = batched ? input.shape[0] : 1;
  const int64_t m = input.shape[batched ? 1 : 0], n = input.shape[batched ? 2 : 1];
  const bool transpose = m > n;
  const int64_t r = transpose ? n : m, c = transpose ? m : n;  // working shape r x c, r <= c
  const DType dt = input.dtype;
  const int64_t es = static_cast<int64_t>(dtype_size(dt));
  Tensor out = empty_tensor(input.shape, dt);
  if (input.numel() == 0) return out;

  HostBuffer<char> x_buf(batch * r * c * es), x_next_buf(batch * r * c * es), a_buf(batch * r * r * es), b_buf(batch * r * r * es);
  char* x = x_buf.data();
  char* x_next = x_next_buf.data();

  // Load (transposed if needed) and normalise by the Frobenius norm, summed in double.
  parallel_for(batch, [&](int64_t q) {
    const int64_t base = q * m * n;
    double sum = 0;
    for (int64_t i = 0; i < m * n; ++i) {
      const double v = load_as_f32(input.data(), dt, base + i);
      sum += v * v;
    }
    const double denom = std::sqrt(sum) + options.eps;
    const float scale = denom > 0 ? static_cast<float>(1.0 / denom) : 0.f;
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        const float v = load_as_f32(input.data(), dt, base + i * n + j) * scale;
        const int64_t dst = transpose ? j * c + i : i * c + j;
        store_from_f32(x, dt, q * r * c + dst, v);
      }
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
    if (!transpose) {
      std::copy(src, src + bytes, dst);
      return;
    }
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j)
        store_from_f32(dst, dt, i * n + j, load_as_f32(src, dt, j * c + i));
  });
  return out;
}

}  // namespace mt::cpu
