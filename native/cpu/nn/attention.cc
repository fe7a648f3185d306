// Scaled dot-product attention, fp32 inside: q, k [B,S,H,dk], v [B,S,H,dv] -> out [B,S,H,dv] and
// the row log-sum-exp lse [B,H,S] that the backward reuses. With causal, query i sees keys 0..i.
#include <cmath>
#include <limits>

#include "../nn_ops.h"

namespace mt::cpu {

using namespace nn;

namespace {

constexpr int64_t kQueryBlock = 32;

// Eight partial sums in a fixed order (so the compiler can vectorize), then the tail.
inline float dot(const float* a, const float* b, int64_t n) {
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t j = 0;
  for (; j + 8 <= n; j += 8)
    for (int l = 0; l < 8; ++l) acc[l] += a[j + l] * b[j + l];
  float s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
  for (; j < n; ++j) s += a[j] * b[j];
  return s;
}

// Rows [0, n) of head h of batch b of a [B,S,H,d] tensor, widened into dst [n, d].
void gather_head(const Tensor& t, int64_t b, int64_t h, int64_t n, float* dst) {
  const int64_t S = t.shape[1], H = t.shape[2], d = t.shape[3];
  for (int64_t s = 0; s < n; ++s) load_f32(t.data(), t.dtype, ((b * S + s) * H + h) * d, d, dst + s * d);
}

}  // namespace

AttentionResult attention(const Tensor& q, const Tensor& k, const Tensor& v, const AttentionOptions& options) {
  const int64_t B = q.shape[0], S = q.shape[1], H = q.shape[2], dk = q.shape[3], dv = v.shape[3];
  AttentionResult r{empty_tensor({B, S, H, dv}, q.dtype), empty_tensor({B, H, S}, DType::F32)};
  float* lse = f32_mut(r.lse);
  const int64_t blocks = (S + kQueryBlock - 1) / kQueryBlock;
  const float scale = options.scale;
  // One task per (b, h, block of queries); each query row is computed entirely by one task.
  parallel_for(B * H * blocks, [&](int64_t task) {
    const int64_t b = task / (H * blocks), h = (task / blocks) % H, blk = task % blocks;
    const int64_t i0 = blk * kQueryBlock, i1 = std::min(S, i0 + kQueryBlock);
    const int64_t nk = options.causal ? i1 : S;
    std::vector<float> K(static_cast<size_t>(nk * dk)), Vv(static_cast<size_t>(nk * dv));
    gather_head(k, b, h, nk, K.data());
    gather_head(v, b, h, nk, Vv.data());
    std::vector<float> qr(static_cast<size_t>(dk)), p(static_cast<size_t>(nk)), o(static_cast<size_t>(dv));
    for (int64_t i = i0; i < i1; ++i) {
      load_f32(q.data(), q.dtype, ((b * S + i) * H + h) * dk, dk, qr.data());
      const int64_t lim = options.causal ? i + 1 : S;
      float m = -std::numeric_limits<float>::infinity();
      for (int64_t j = 0; j < lim; ++j) {
        p[j] = scale * dot(qr.data(), K.data() + j * dk, dk);
        m = std::max(m, p[j]);
      }
      float sum = 0.0f;
      for (int64_t j = 0; j < lim; ++j) {
        p[j] = std::exp(p[j] - m);
        sum += p[j];
      }
      std::fill(o.begin(), o.end(), 0.0f);
      for (int64_t j = 0; j < lim; ++j) {
        const float* vj = Vv.data() + j * dv;
        for (int64_t c = 0; c < dv; ++c) o[c] += p[j] * vj[c];
      }
      const float inv = 1.0f / sum;
      for (int64_t c = 0; c < dv; ++c) o[c] *= inv;
      store_f32(r.out.data(), r.out.dtype, ((b * S + i) * H + h) * dv, dv, o.data());
      lse[(b * H + h) * S + i] = m + std::log(sum);
    }
  });
  return r;
}

// With P_ij = exp(scale q_i.k_j - lse_i), D_i = dout_i.out_i and dS_ij = P_ij (dout_i.v_j - D_i):
// dq_i = scale sum_j dS_ij k_j, dk_j = scale sum_i dS_ij q_i, dv_j = sum_i P_ij dout_i.
// One task per (b, h): dk and dv accumulate over the queries in order.
AttentionGrads attention_backward(const Tensor& dout, const Tensor& q, const Tensor& k, const Tensor& v,
                                  const Tensor& out, const Tensor& lse, const AttentionOptions& options) {
  const int64_t B = q.shape[0], S = q.shape[1], H = q.shape[2], dk = q.shape[3], dv = v.shape[3];
  AttentionGrads g{empty_tensor(q.shape, q.dtype), empty_tensor(k.shape, k.dtype), empty_tensor(v.shape, v.dtype)};
  const float* L = f32_data(lse);
  const float scale = options.scale;
  parallel_for(B * H, [&](int64_t task) {
    const int64_t b = task / H, h = task % H;
    std::vector<float> K(static_cast<size_t>(S * dk)), Vv(static_cast<size_t>(S * dv));
    std::vector<float> dK(static_cast<size_t>(S * dk), 0.0f), dV(static_cast<size_t>(S * dv), 0.0f);
    gather_head(k, b, h, S, K.data());
    gather_head(v, b, h, S, Vv.data());
    std::vector<float> qr(static_cast<size_t>(dk)), dq(static_cast<size_t>(dk));
    std::vector<float> dor(static_cast<size_t>(dv)), orow(static_cast<size_t>(dv));
    for (int64_t i = 0; i < S; ++i) {
      const int64_t row = (b * S + i) * H + h;
      load_f32(q.data(), q.dtype, row * dk, dk, qr.data());
      load_f32(dout.data(), dout.dtype, row * dv, dv, dor.data());
      load_f32(out.data(), out.dtype, row * dv, dv, orow.data());
      const float Di = dot(dor.data(), orow.data(), dv);
      const float li = L[(b * H + h) * S + i];
      std::fill(dq.begin(), dq.end(), 0.0f);
      const int64_t lim = options.causal ? i + 1 : S;
      for (int64_t j = 0; j < lim; ++j) {
        const float* kj = K.data() + j * dk;
        const float* vj = Vv.data() + j * dv;
        const float p = std::exp(scale * dot(qr.data(), kj, dk) - li);
        const float ds = p * (dot(dor.data(), vj, dv) - Di) * scale;
        float* dkj = dK.data() + j * dk;
        float* dvj = dV.data() + j * dv;
        for (int64_t c = 0; c < dk; ++c) {
          dq[c] += ds * kj[c];
          dkj[c] += ds * qr[c];
        }
        for (int64_t c = 0; c < dv; ++c) dvj[c] += p * dor[c];
      }
      store_f32(g.dq.data(), g.dq.dtype, row * dk, dk, dq.data());
    }
    for (int64_t j = 0; j < S; ++j) {
      const int64_t row = (b * S + j) * H + h;
      store_f32(g.dk.data(), g.dk.dtype, row * dk, dk, dK.data() + j * dk);
      store_f32(g.dv.data(), g.dv.dtype, row * dv, dv, dV.data() + j * dv);
    }
  });
  return g;
}

}  // namespace mt::cpu
