// Mixture-of-Experts routing (DeepSeek-V3 "noaux_tc"), token permutation to expert order and back,
// and the sequence-wise balance loss.
#include <cmath>

#include "../../core/fast_math.h"
#include "../nn_ops.h"
#include "nn_avx512.h"
#include "row_reduce.h"

namespace mt::cpu {

using namespace nn;

namespace {

// Index of the largest value among allowed, not yet taken entries [0, n); ties go to the lower index.
int64_t argmax_free(const float* c, const std::vector<char>& allowed, const std::vector<char>& taken, int64_t n) {
  int64_t best = -1;
  for (int64_t j = 0; j < n; ++j) {
    if (!allowed[j] || taken[j]) continue;
    if (best < 0 || c[j] > c[best]) best = j;
  }
  return best;
}

}  // namespace

// scores = sigmoid(logits); the choice uses scores + bias: with n_group > 1 only the topk_group
// groups with the largest sum of their top-2 (score + bias) stay, then the top_k experts by
// score + bias among them (ties: lower index). weights are the chosen scores (no bias),
// normalised to sum 1 (+1e-20) when norm_topk, times scaling_factor.
MoeRouteResult moe_route(const Tensor& logits, const Tensor& bias, const MoeRouteOptions& o) {
  const int64_t T = logits.shape[0], E = logits.shape[1], K = o.top_k;
  const int64_t G = o.n_group, gs = E / G;
  MoeRouteResult r;
  r.experts = empty_tensor({T * K}, DType::I32);
  r.experts.storage->facts.bound = E;
  int32_t* chosen = r.experts.ptr<int32_t>();
  r.weights = empty_tensor({T, K}, DType::F32);
  r.scores = empty_tensor({T, E}, DType::F32);
  const float* lg = f32_data(logits);
  const float* bs = f32_data(bias);
  float* sc = f32_mut(r.scores);
  float* wt = f32_mut(r.weights);
  parallel_chunks(T, grain_for(E * (K + 2)), [&](int64_t t0, int64_t t1) {
    std::vector<float> c(static_cast<size_t>(E)), gscore(static_cast<size_t>(G));
    std::vector<char> allowed(static_cast<size_t>(E)), taken(static_cast<size_t>(E));
    std::vector<char> gallowed(static_cast<size_t>(G), 1), gtaken(static_cast<size_t>(G));
    for (int64_t t = t0; t < t1; ++t) {
      float* s = sc + t * E;
      for (int64_t e = 0; e < E; ++e) {
        s[e] = 1.0f / (1.0f + fast_exp(-lg[t * E + e]));
        c[e] = s[e] + bs[e];
      }
      if (G > 1) {
        for (int64_t g = 0; g < G; ++g) {
          // sum of the two largest (one when a group has a single expert)
          float first = -INFINITY, second = -INFINITY;
          for (int64_t e = g * gs; e < (g + 1) * gs; ++e) {
            if (c[e] > first) {
              second = first;
              first = c[e];
            } else if (c[e] > second) {
              second = c[e];
            }
          }
          gscore[g] = gs >= 2 ? first + second : first;
        }
        std::fill(gtaken.begin(), gtaken.end(), 0);
        for (int64_t n = 0; n < o.topk_group; ++n) {
          const int64_t g = argmax_free(gscore.data(), gallowed, gtaken, G);
          if (g >= 0) gtaken[g] = 1;
        }
        for (int64_t e = 0; e < E; ++e) allowed[e] = gtaken[e / gs];
      } else {
        std::fill(allowed.begin(), allowed.end(), 1);
      }
      std::fill(taken.begin(), taken.end(), 0);
      float sum = 0.0f;
      for (int64_t slot = 0; slot < K; ++slot) {
        int64_t e = argmax_free(c.data(), allowed, taken, E);
        if (e < 0) e = argmax_free(c.data(), std::vector<char>(static_cast<size_t>(E), 1), taken, E);  // unreachable when validated
        taken[e] = 1;
        chosen[t * K + slot] = static_cast<int32_t>(e);
        wt[t * K + slot] = s[e];
        sum += s[e];
      }
      const float f = o.norm_topk ? o.scaling_factor / (sum + 1e-20f) : o.scaling_factor;
      for (int64_t slot = 0; slot < K; ++slot) wt[t * K + slot] *= f;
    }
  });
  return r;
}

// Through w_k = c s_k / (sum_j s_j + 1e-20) (or w_k = c s_k) and s = sigmoid(logit).
Tensor moe_route_backward(const Tensor& dweights, const Tensor& scores, const Tensor& experts,
                          bool norm_topk, float scaling_factor, const Tensor* dscores) {
  const int64_t T = scores.shape[0], E = scores.shape[1], K = dweights.shape[1];
  Tensor d = empty_tensor({T, E}, DType::F32);
  const float* dw = f32_data(dweights);
  const float* sc = f32_data(scores);
  const float* extra = dscores ? f32_data(*dscores) : nullptr;
  float* out = f32_mut(d);
  parallel_chunks(T, grain_for(E + 4 * K), [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      const float* s = sc + t * E;
      const int32_t* ex = experts.ptr<const int32_t>() + t * K;
      float* o = out + t * E;
      if (extra) {
        for (int64_t e = 0; e < E; ++e) o[e] = extra[t * E + e] * s[e] * (1.0f - s[e]);
      } else {
        std::fill(o, o + E, 0.0f);
      }
      float sum = 0.0f, dot = 0.0f;
      for (int64_t k = 0; k < K; ++k) {
        sum += s[ex[k]];
        dot += dw[t * K + k] * s[ex[k]];
      }
      const float denom = sum + 1e-20f;
      for (int64_t k = 0; k < K; ++k) {
        const float se = s[ex[k]];
        const float ds = norm_topk ? scaling_factor * (dw[t * K + k] / denom - dot / (denom * denom))
                                   : scaling_factor * dw[t * K + k];
        o[ex[k]] += ds * se * (1.0f - se);
      }
    }
  });
  return d;
}

// Counting sort of the flat slots f = t*K + slot by expert; within an expert f increases, which
// is "by token, then slot".
MoePermuteResult moe_permute(const Tensor& x, const Tensor& experts_t, int64_t num_experts) {
  const int64_t T = x.shape[0], D = x.shape[1], N = experts_t.numel();
  const int64_t K = T > 0 ? N / T : 0;
  const int32_t* experts = experts_t.ptr<const int32_t>();
  MoePermuteResult r;
  r.group_sizes = zeros_tensor({num_experts}, DType::I32);
  r.group_sizes.storage->facts.sum = N;
  int32_t* sizes = r.group_sizes.ptr<int32_t>();
  for (int64_t f = 0; f < N; ++f) ++sizes[experts[f]];
  std::vector<int64_t> cursor(static_cast<size_t>(num_experts), 0);
  for (int64_t e = 1; e < num_experts; ++e) cursor[e] = cursor[e - 1] + sizes[e - 1];
  r.order = empty_tensor({N}, DType::I32);
  r.order.storage->facts.bound = N;
  r.order.storage->facts.permutation = true;
  int32_t* order = r.order.ptr<int32_t>();
  for (int64_t f = 0; f < N; ++f) order[cursor[experts[f]]++] = static_cast<int32_t>(f);
  r.xs = empty_tensor({N, D}, x.dtype);
  const size_t row_bytes = static_cast<size_t>(D) * dtype_size(x.dtype);
  const char* src = static_cast<const char*>(x.data());
  char* dst = static_cast<char*>(r.xs.data());
  parallel_chunks(N, grain_for(D), [&](int64_t r0, int64_t r1) {
    for (int64_t row = r0; row < r1; ++row)
      if (row_bytes) std::memcpy(dst + row * row_bytes, src + (order[row] / K) * row_bytes, row_bytes);
  });
  return r;
}

namespace {
// rows[f] = the sorted row holding flat slot f.
std::vector<int64_t> inverse_order(const Tensor& order_t) {
  const int32_t* order = order_t.ptr<const int32_t>();
  std::vector<int64_t> rows(static_cast<size_t>(order_t.numel()));
  for (size_t r = 0; r < rows.size(); ++r) rows[order[r]] = static_cast<int64_t>(r);
  return rows;
}
}  // namespace

// y[t] = sum over slots (in order) of weights[t,slot] * ys[row of (t,slot)].
Tensor moe_unpermute(const Tensor& ys, const Tensor& order, const Tensor& weights) {
  const int64_t T = weights.shape[0], K = weights.shape[1], D = ys.shape[1];
  const std::vector<int64_t> rows = inverse_order(order);
  Tensor y = empty_tensor({T, D}, ys.dtype);
  const float* w = f32_data(weights);
  parallel_chunks(T, grain_for(D * std::max<int64_t>(1, K)), [&](int64_t t0, int64_t t1) {
    std::vector<float> acc(static_cast<size_t>(D)), row(static_cast<size_t>(D));
    for (int64_t t = t0; t < t1; ++t) {
      std::fill(acc.begin(), acc.end(), 0.0f);
      for (int64_t k = 0; k < K; ++k) {
        load_f32(ys.data(), ys.dtype, rows[t * K + k] * D, D, row.data());
        const float wk = w[t * K + k];
        for (int64_t j = 0; j < D; ++j) acc[j] += wk * row[j];
      }
      store_f32(y.data(), y.dtype, t * D, D, acc.data());
    }
  });
  return y;
}

// dys[row of (t,slot)] = weights[t,slot] * dy[t]; dweights[t,slot] = dy[t] . ys[row of (t,slot)].
MoeUnpermuteGrads moe_unpermute_backward(const Tensor& dy, const Tensor& ys, const Tensor& order,
                                         const Tensor& weights) {
  const int64_t T = weights.shape[0], K = weights.shape[1], D = ys.shape[1];
  const std::vector<int64_t> rows = inverse_order(order);
  MoeUnpermuteGrads g{empty_tensor(ys.shape, ys.dtype), empty_tensor({T, K}, DType::F32)};
  const float* w = f32_data(weights);
  float* dw = f32_mut(g.dweights);
  const bool wide = avx512_rows() && dy.dtype == ys.dtype;
  parallel_chunks(T, grain_for(2 * D * std::max<int64_t>(1, K)), [&](int64_t t0, int64_t t1) {
    std::vector<float> d(static_cast<size_t>(D)), row(static_cast<size_t>(D));
    for (int64_t t = t0; t < t1; ++t) {
      if (wide) {
        for (int64_t k = 0; k < K; ++k) {
          const int64_t r = rows[t * K + k];
          dw[t * K + k] = static_cast<float>(avx512::unpermute_backward_slot(dy.data(), ys.data(), g.dys.data(), dy.dtype, t * D, r * D, D, w[t * K + k]));
        }
        continue;
      }
      load_f32(dy.data(), dy.dtype, t * D, D, d.data());
      for (int64_t k = 0; k < K; ++k) {
        const int64_t r = rows[t * K + k];
        load_f32(ys.data(), ys.dtype, r * D, D, row.data());
        dw[t * K + k] = static_cast<float>(dot_f64(d.data(), row.data(), D));
        const float wk = w[t * K + k];
        for (int64_t j = 0; j < D; ++j) row[j] = wk * d[j];
        store_f32(g.dys.data(), g.dys.dtype, r * D, D, row.data());
      }
    }
  });
  return g;
}

// dx[t] = sum over slots (in order) of dxs[row of (t,slot)].
Tensor moe_permute_backward(const Tensor& dxs, const Tensor& order, int64_t top_k) {
  const int64_t N = dxs.shape[0], D = dxs.shape[1], K = top_k, T = K > 0 ? N / K : 0;
  const std::vector<int64_t> rows = inverse_order(order);
  Tensor dx = empty_tensor({T, D}, dxs.dtype);
  parallel_chunks(T, grain_for(D * K), [&](int64_t t0, int64_t t1) {
    std::vector<float> acc(static_cast<size_t>(D)), row(static_cast<size_t>(D));
    for (int64_t t = t0; t < t1; ++t) {
      std::fill(acc.begin(), acc.end(), 0.0f);
      for (int64_t k = 0; k < K; ++k) {
        load_f32(dxs.data(), dxs.dtype, rows[t * K + k] * D, D, row.data());
        for (int64_t j = 0; j < D; ++j) acc[j] += row[j];
      }
      store_f32(dx.data(), dx.dtype, t * D, D, acc.data());
    }
  });
  return dx;
}

// Per sequence: f_i = E/(K*S) * (slots of the sequence choosing i), P_i = mean over its tokens of
// s_i / sum_j s_j, L = sum_i f_i P_i; loss = alpha * mean over sequences of L. The gradient
// treats f as constant: dL/ds_tj = (f_j - sum_i f_i p_ti) / (S * sum_i s_ti).
SeqAuxLossResult moe_seq_aux_loss(const Tensor& scores, const Tensor& experts_t, const SeqAuxLossOptions& o) {
  const int32_t* experts = experts_t.ptr<const int32_t>();
  const int64_t B = o.batch, S = o.seq_len, K = o.top_k, E = scores.shape[1];
  SeqAuxLossResult r;
  r.dscores = empty_tensor({B * S, E}, DType::F32);
  const float* sc = f32_data(scores);
  float* ds = f32_mut(r.dscores);
  std::vector<double> per_seq(static_cast<size_t>(B), 0.0);
  const double fscale = static_cast<double>(E) / (static_cast<double>(K) * static_cast<double>(S));
  const double gscale = o.alpha / static_cast<double>(B);
  parallel_for(B, [&](int64_t b) {
    std::vector<double> f(static_cast<size_t>(E), 0.0);
    for (int64_t i = b * S * K; i < (b + 1) * S * K; ++i) f[experts[i]] += 1.0;
    for (int64_t e = 0; e < E; ++e) f[e] *= fscale;
    double L = 0;
    for (int64_t t = b * S; t < (b + 1) * S; ++t) {
      const float* s = sc + t * E;
      double z = 0, fs = 0;
      for (int64_t e = 0; e < E; ++e) {
        z += s[e];
        fs += f[e] * s[e];
      }
      L += fs / z;
      for (int64_t e = 0; e < E; ++e) ds[t * E + e] = static_cast<float>(gscale * (f[e] - fs / z) / (static_cast<double>(S) * z));
    }
    per_seq[b] = L / static_cast<double>(S);
  });
  double total = 0;
  for (int64_t b = 0; b < B; ++b) total += per_seq[b];
  r.loss = gscale * total;
  return r;
}

}  // namespace mt::cpu
