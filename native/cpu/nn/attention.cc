// Scaled dot-product attention, fp32 softmax: q, k [B,S,H,dk], v [B,S,H,dv] -> out [B,S,H,dv]
// and the row log-sum-exp lse [B,H,S] that the backward reuses. With causal, query i sees keys
// 0..i. The products run as batches of GEMMs (one problem per (b, h), heads read in place with
// a row stride of H·d) on the fast kernels; the backward recomputes the probabilities from lse.
// With causal, each product is cut at the middle row h into two (rows [0, h) need only keys
// [0, h)), which skips a quarter of the work; the scale is applied outside the products so that
// they write their output directly. The forward can keep the probabilities ([B,H,S,S]) so the
// backward skips Q·Kᵀ and the exponentials (worth it for short sequences; the caller decides).
//   P = softmax(scale·Q·Kᵀ), out = P·V
//   dV = Pᵀ·dO, dP = dO·Vᵀ, dS = P ⊙ (dP − rowsum(dO ⊙ out)), dQ = scale·dS·K, dK = scale·dSᵀ·Q
#include <cmath>
#include <limits>

#include "../../core/host_allocator.h"
#include "../gemm.h"
#include "../../core/fast_math.h"
#include "../nn_ops.h"
#include "nn_avx512.h"
#include "row_reduce.h"

namespace mt::cpu {

using namespace nn;

namespace {

// (b, h) pairs per round, so the S x S scratch stays near 64 MiB whatever B·H·S² is.
int64_t heads_per_round(int64_t BH, int64_t S) {
  const int64_t per = std::max<int64_t>(1, S * S * 12);
  return std::max<int64_t>(1, std::min(BH, (int64_t(64) << 20) / per));
}

// Runs fn(first, n) on groups of (b, h) pairs covering [0, BH). Up to kPairTaskMaxS, each pair is
// one task on the pool: all phases of a pair run on one thread with its S x S scratch in cache,
// and nothing waits for the other pairs between phases. Longer sequences go in rounds of pairs,
// each phase parallel inside fn. The choice depends on S only, so results do not depend on the
// thread count.
constexpr int64_t kPairTaskMaxS = 256;

template <class Fn>
void for_head_groups(int64_t BH, int64_t S, Fn fn) {
  if (S <= kPairTaskMaxS) {
    parallel_for(BH, [&](int64_t bh) { fn(bh, 1); });
    return;
  }
  const int64_t round = heads_per_round(BH, S);
  for (int64_t first = 0; first < BH; first += round) fn(first, std::min(round, BH - first));
}

// Head h of batch b of a [B,S,H,d] tensor as a matrix [S, d] (row stride H·d).
MatRef head(const Tensor& t, int64_t b, int64_t h, bool trans = false) {
  const int64_t S = t.shape[1], H = t.shape[2], d = t.shape[3];
  const size_t es = dtype_size(t.dtype);
  return {static_cast<const char*>(t.data()) + ((b * S) * H + h) * d * es, t.dtype, H * d, trans};
}

void* head_out(Tensor& t, int64_t b, int64_t h) {
  const int64_t S = t.shape[1], H = t.shape[2], d = t.shape[3];
  return static_cast<char*>(t.data()) + ((b * S) * H + h) * d * dtype_size(t.dtype);
}

// x restricted to stored rows from r0 and stored columns from c0.
MatRef sub(MatRef x, int64_t r0, int64_t c0) {
  x.data = static_cast<const char*>(x.data) + (r0 * x.ld + c0) * static_cast<int64_t>(dtype_size(x.dtype));
  return x;
}

// The row where a causal product is cut in two (S itself when not causal: no cut).
int64_t causal_cut(int64_t S, bool causal) { return causal && S >= 2 ? S / 2 : S; }

GemmProblem product(int64_t M, int64_t N, int64_t K, MatRef a, MatRef b, void* c, DType c_dtype, int64_t ldc, float alpha = 1.f) {
  GemmProblem p;
  p.M = M; p.N = N; p.K = K;
  p.A = a; p.B = b;
  p.alpha = alpha;
  p.C = c; p.c_dtype = c_dtype; p.ldc = ldc;
  return p;
}

// s (f32, [n][S][S]) = X·Yᵀ per head for the heads [first, first + n) of X, Y [B,S,H,d]: the
// scores Q·Kᵀ and the backward's dO·Vᵀ. With causal, the entries above the diagonal past the cut
// are not written.
void scores(const Tensor& q, const Tensor& k, bool causal, int64_t first, int64_t n, float* s) {
  const int64_t H = q.shape[2], S = q.shape[1], dk = q.shape[3], h = causal_cut(S, causal);
  std::vector<GemmProblem> ps;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t b = (first + i) / H, hd = (first + i) % H;
    const MatRef qh = head(q, b, hd), kt = head(k, b, hd, true);
    float* si = s + i * S * S;
    ps.push_back(product(h, h, dk, qh, kt, si, DType::F32, S));
    if (h < S) ps.push_back(product(S - h, S, dk, sub(qh, h, 0), kt, si + h * S, DType::F32, S));
  }
  gemm_batch(ps.data(), static_cast<int64_t>(ps.size()));
}

// Appends C = X·Y for X [S, S] lower triangular when causal (rows below the cut use all of
// k, rows above only k < h), Y [S, d]; C rows have stride ldc.
void lower_times(std::vector<GemmProblem>& ps, int64_t S, int64_t d, bool causal, MatRef x, MatRef y, void* c, DType c_dtype, int64_t ldc) {
  const int64_t h = causal_cut(S, causal);
  ps.push_back(product(h, d, h, x, y, c, c_dtype, ldc));
  if (h < S) ps.push_back(product(S - h, d, S, sub(x, h, 0), y, static_cast<char*>(c) + h * ldc * dtype_size(c_dtype), c_dtype, ldc));
}

// Appends C = Xᵀ·Y for the same X: Xᵀ is upper triangular, so rows past the cut use only k >= h.
void upper_times(std::vector<GemmProblem>& ps, int64_t S, int64_t d, bool causal, MatRef x, MatRef y, void* c, DType c_dtype, int64_t ldc) {
  const int64_t h = causal_cut(S, causal);
  x.trans = true;
  ps.push_back(product(h, d, S, x, y, c, c_dtype, ldc));
  if (h < S) ps.push_back(product(S - h, d, S - h, sub(x, h, h), sub(y, h, 0), static_cast<char*>(c) + h * ldc * dtype_size(c_dtype), c_dtype, ldc));
}

// Rows of probabilities from unscaled scores and lse, masked; written as f32 (p32) and in dtype (pdt).
void probabilities(const float* s, const float* lse, int64_t S, bool causal, float scale, float* p32, void* pdt, DType dt, int64_t row0) {
  for (int64_t i = 0; i < S; ++i) {
    const int64_t lim = causal ? i + 1 : S;
    const float l = lse[row0 + i];
    const float* sr = s + i * S;
    float* pr = p32 + i * S;
    for (int64_t j = 0; j < lim; ++j) pr[j] = fast_exp(sr[j] * scale - l);
    for (int64_t j = lim; j < S; ++j) pr[j] = 0.f;
    store_f32(pdt, dt, i * S, S, pr);
  }
}

}  // namespace

AttentionResult attention(const Tensor& q, const Tensor& k, const Tensor& v, const AttentionOptions& options) {
  const int64_t B = q.shape[0], S = q.shape[1], H = q.shape[2], dv = v.shape[3];
  AttentionResult r{empty_tensor({B, S, H, dv}, q.dtype), empty_tensor({B, H, S}, DType::F32)};
  if (options.keep_probs) r.probs = empty_tensor({B, H, S, S}, q.dtype);
  float* lse = f32_mut(r.lse);
  if (B * H * S == 0) return r;
  const DType dt = v.dtype;
  for_head_groups(B * H, S, [&](int64_t first, int64_t n) {
    HostBuffer<float> s(static_cast<size_t>(n * S * S));
    HostBuffer<char> scratch(options.keep_probs ? 0 : static_cast<size_t>(n * S * S) * dtype_size(dt));
    char* p = options.keep_probs ? static_cast<char*>(r.probs.data()) + first * S * S * dtype_size(dt) : scratch.data();
    scores(q, k, options.causal, first, n, s.data());
    const bool wide = avx512_rows();
    parallel_chunks(n * S, grain_for(4 * S), [&](int64_t lo, int64_t hi) {
      for (int64_t row = lo; row < hi; ++row) {  // softmax of one query row
        const int64_t bh = first + row / S, i = row % S;
        float* sr = s.data() + row * S;
        const int64_t lim = options.causal ? i + 1 : S;
        if (wide) {
          lse[bh * S + i] = avx512::row_softmax(sr, lim, S, options.scale, p, dt, row * S);
          continue;
        }
        for (int64_t j = 0; j < lim; ++j) sr[j] *= options.scale;
        const float m = row_max(sr, lim);
        const float sum = exp_shift_sum(sr, lim, m);
        const float inv = 1.f / sum;
        for (int64_t j = 0; j < lim; ++j) sr[j] *= inv;
        for (int64_t j = lim; j < S; ++j) sr[j] = 0.f;
        store_f32(p, dt, row * S, S, sr);
        lse[bh * S + i] = m + std::log(sum);
      }
    });
    std::vector<GemmProblem> ps;
    for (int64_t i = 0; i < n; ++i) {
      const int64_t b = (first + i) / H, h = (first + i) % H;
      lower_times(ps, S, dv, options.causal, {p + i * S * S * dtype_size(dt), dt, S, false}, head(v, b, h), head_out(r.out, b, h), r.out.dtype, H * dv);
    }
    gemm_batch(ps.data(), static_cast<int64_t>(ps.size()));
  });
  return r;
}

AttentionGrads attention_backward(const Tensor& dout, const Tensor& q, const Tensor& k, const Tensor& v,
                                  const Tensor& out, const Tensor& lse, const AttentionOptions& options, const Tensor* probs) {
  const int64_t B = q.shape[0], S = q.shape[1], H = q.shape[2], dk = q.shape[3], dv = v.shape[3];
  AttentionGrads g{empty_tensor(q.shape, q.dtype), empty_tensor(k.shape, k.dtype), empty_tensor(v.shape, v.dtype)};
  if (B * H * S == 0) return g;
  const DType dt = q.dtype;
  const size_t es = dtype_size(dt);
  const float* lse_data = static_cast<const float*>(lse.data());
  const bool wide = avx512_rows();
  for_head_groups(B * H, S, [&](int64_t first, int64_t n) {
    const size_t cells = static_cast<size_t>(n * S * S), recomputed = probs ? 0 : cells;
    HostBuffer<float> s(recomputed), p32(recomputed), dp(cells);
    HostBuffer<char> scratch(recomputed * es), ds(cells * es);
    const char* pdt = probs ? static_cast<const char*>(probs->data()) + first * S * S * es : scratch.data();
    if (!probs) {
      scores(q, k, options.causal, first, n, s.data());
      parallel_for(n, [&](int64_t i) {
        probabilities(s.data() + i * S * S, lse_data, S, options.causal, options.scale, p32.data() + i * S * S, scratch.data() + i * S * S * es, dt, (first + i) * S);
      });
    }
    std::vector<GemmProblem> dvp;
    for (int64_t i = 0; i < n; ++i) {
      const int64_t b = (first + i) / H, h = (first + i) % H;
      upper_times(dvp, S, dv, options.causal, {pdt + i * S * S * es, dt, S, false}, head(dout, b, h), head_out(g.dv, b, h), g.dv.dtype, H * dv);
    }
    gemm_batch(dvp.data(), static_cast<int64_t>(dvp.size()));
    scores(dout, v, options.causal, first, n, dp.data());  // dP = dO·Vᵀ
    parallel_chunks(n * S, grain_for(2 * S), [&](int64_t lo, int64_t hi) {
      std::vector<float> dsr(static_cast<size_t>(S)), dor(static_cast<size_t>(dv)), outr(static_cast<size_t>(dv)), kept(probs ? S : 0);
      for (int64_t row = lo; row < hi; ++row) {  // dS for one query row
        const int64_t bh = first + row / S, i = row % S, b = bh / H, h = bh % H;
        const int64_t base_o = ((b * S + i) * H + h) * dv;
        load_f32(dout.data(), dout.dtype, base_o, dv, dor.data());
        load_f32(out.data(), out.dtype, base_o, dv, outr.data());
        const float df = static_cast<float>(dot_f64(dor.data(), outr.data(), dv));
        const int64_t lim = options.causal ? i + 1 : S;  // dp past the diagonal is not computed
        if (wide) {
          if (probs) avx512::row_softmax_backward(pdt, dt, row * S, dp.data() + row * S, lim, S, df, options.scale, ds.data(), dt, row * S);
          else avx512::row_softmax_backward(p32.data(), DType::F32, row * S, dp.data() + row * S, lim, S, df, options.scale, ds.data(), dt, row * S);
          continue;
        }
        if (probs) load_f32(pdt, dt, row * S, lim, kept.data());
        const float* pr = probs ? kept.data() : p32.data() + row * S;
        const float* dpr = dp.data() + row * S;
        for (int64_t j = 0; j < lim; ++j) dsr[static_cast<size_t>(j)] = options.scale * pr[j] * (dpr[j] - df);
        for (int64_t j = lim; j < S; ++j) dsr[static_cast<size_t>(j)] = 0.f;
        store_f32(ds.data(), dt, row * S, S, dsr.data());
      }
    });
    std::vector<GemmProblem> dqp, dkp;
    for (int64_t i = 0; i < n; ++i) {
      const int64_t b = (first + i) / H, h = (first + i) % H;
      const char* dsi = ds.data() + i * S * S * es;
      lower_times(dqp, S, dk, options.causal, {dsi, dt, S, false}, head(k, b, h), head_out(g.dq, b, h), g.dq.dtype, H * dk);
      upper_times(dkp, S, dk, options.causal, {dsi, dt, S, false}, head(q, b, h), head_out(g.dk, b, h), g.dk.dtype, H * dk);
    }
    gemm_batch(dqp.data(), static_cast<int64_t>(dqp.size()));
    gemm_batch(dkp.data(), static_cast<int64_t>(dkp.size()));
  });
  return g;
}

}  // namespace mt::cpu
