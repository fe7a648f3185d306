// MoE routing (DeepSeek-V3 "noaux_tc") and its backward, with the CPU op's semantics
// (native/cpu/nn/moe_routing.cc). The forward is one warp per token: the lanes stride over the
// experts, and each choice is a warp reduction (shuffles, a fixed butterfly) of the best
// candidate under one strict order: the larger value, on ties the lower index (a NaN value ranks
// as -inf). The k-th choice is the best candidate below the (k-1)-th in that order, so nothing
// needs marking as taken. With groups, each group's score (the sum of its two largest score +
// bias) goes to a scratch row; the kept groups are the topkGroup best, and an expert is a
// candidate when its group is not below the last kept one.
#pragma once

#include "simt_common.cuh"

namespace mt::kern {

// moeRoute: kWarps tokens per block, one warp each.
struct RouteBlock {
  static constexpr int kWarps = 4, kThreads = 32 * kWarps;
  static dev::Dim3 grid(int64_t tokens) { return {unsigned((tokens + kWarps - 1) / kWarps), 1, 1}; }
  static dev::Dim3 block() { return {kThreads, 1, 1}; }
};

struct MoeRouteArgs {
  const float *logits = nullptr, *bias = nullptr;  // [T, E], [E]
  float *scores = nullptr, *weights = nullptr;     // [T, E], [T, K]
  int32_t* experts = nullptr;                      // [T*K]
  float* group_scores = nullptr;                   // [T, G] scratch (G > 1 only)
  int64_t tokens = 0, E = 0, K = 0, G = 1, topk_group = 1;
  bool norm_topk = true;
  float scaling = 1;
};

// (av, ai) ranks above (bv, bi).
MT_DEVICE bool ranks_above(float av, int32_t ai, float bv, int32_t bi) { return av > bv || (av == bv && ai < bi); }
MT_DEVICE float rank_value(float v) { return v == v ? v : -INFINITY; }
constexpr int32_t kNoPick = 0x7fffffff;  // ranks below every candidate

// The best of the warp's (v, i), on every lane.
MT_DEVICE void warp_best(float& v, int32_t& i) {
  for (int m = 16; m > 0; m >>= 1) {
    const float ov = dev::shfl_xor(v, m);
    const int32_t oi = dev::shfl_xor(i, m);
    if (ranks_above(ov, oi, v, i)) v = ov, i = oi;
  }
}

// The best j in [0, n) below (pv, pi) for which value(j, &v) is true, into (pv, pi) on every lane
// (pi = kNoPick when none is left).
template <class Value>
MT_DEVICE void warp_next(int64_t n, Value value, float& pv, int32_t& pi) {
  float bv = -INFINITY;
  int32_t bi = kNoPick;
  for (int64_t j = dev::lane_id(); j < n; j += 32) {
    float v;
    if (!value(j, &v)) continue;
    v = rank_value(v);
    if (ranks_above(pv, pi, v, int32_t(j)) && ranks_above(v, int32_t(j), bv, bi)) bv = v, bi = int32_t(j);
  }
  warp_best(bv, bi);
  pv = bv, pi = bi;
}

MT_DEVICE void moe_route_body(const MoeRouteArgs& a) {
  const int64_t t = int64_t(dev::block_idx().x) * RouteBlock::kWarps + dev::warp_id();
  if (t >= a.tokens) return;  // the whole warp
  const int64_t E = a.E, K = a.K, lane = dev::lane_id();
  float* s = a.scores + t * E;
  for (int64_t e = lane; e < E; e += 32) s[e] = sigmoid(a.logits[t * E + e]);
  dev::sync_warp();  // the lanes read each other's scores below
  const auto choice = [&](int64_t e) { return s[e] + a.bias[e]; };

  // The last kept group (gv, gi): with groups, a group below it is out.
  const bool grouped = a.G > 1;
  const int64_t gs = E / a.G;
  float gv = INFINITY;
  int32_t gi = -1;
  float* gscore = grouped ? a.group_scores + t * a.G : nullptr;
  if (grouped) {
    for (int64_t g = lane; g < a.G; g += 32) {
      float first = -INFINITY, second = -INFINITY;  // the two largest (one when a group has one expert)
      for (int64_t e = g * gs; e < (g + 1) * gs; ++e) {
        const float c = choice(e);
        if (c > first) {
          second = first;
          first = c;
        } else if (c > second) {
          second = c;
        }
      }
      gscore[g] = gs >= 2 ? first + second : first;
    }
    dev::sync_warp();
    for (int64_t n = 0; n < a.topk_group; ++n)
      warp_next(
          a.G,
          [&](int64_t g, float* v) {
            *v = gscore[g];
            return true;
          },
          gv, gi);
  }

  // The experts in descending order of score + bias among the kept groups.
  float pv = INFINITY, sum = 0;
  int32_t pi = -1;
  for (int64_t slot = 0; slot < K; ++slot) {
    warp_next(
        E,
        [&](int64_t e, float* v) {
          const int64_t g = e / gs;
          if (grouped && ranks_above(gv, gi, rank_value(gscore[g]), int32_t(g))) return false;
          *v = choice(e);
          return true;
        },
        pv, pi);
    const int32_t e = pi == kNoPick ? 0 : pi;  // always a pick: topK <= topkGroup * E / nGroup (the binding checks)
    sum += s[e];
    if (lane == slot % 32) {
      a.experts[t * K + slot] = e;
      a.weights[t * K + slot] = s[e];
    }
  }
  const float f = a.norm_topk ? a.scaling / (sum + 1e-20f) : a.scaling;
  for (int64_t slot = lane; slot < K; slot += 32) a.weights[t * K + slot] *= f;
}

struct MoeRouteBackwardArgs {
  const float *dweights = nullptr, *scores = nullptr, *dscores = nullptr;  // [T, K], [T, E], [T, E] or null
  const int32_t* experts = nullptr;                                         // [T*K]
  float* out = nullptr;                                                     // [T, E]
  int64_t tokens = 0, E = 0, K = 0;
  bool norm_topk = true;
  float scaling = 1;
};

// Through w_k = c s_k / (sum_j s_j + 1e-20) (or w_k = c s_k) and s = sigmoid(logit), elementwise
// over [T, E]: an element adds the terms of the token's slots that chose it, in slot order.
MT_DEVICE void moe_route_backward_body(const MoeRouteBackwardArgs& a) {
  for (int64_t i = global_index(); i < a.tokens * a.E; i += grid_stride()) {
    const int64_t t = i / a.E, e = i % a.E;
    const float* s = a.scores + t * a.E;
    const int32_t* ex = a.experts + t * a.K;
    const float* dw = a.dweights + t * a.K;
    const float se = s[e];
    float o = a.dscores ? a.dscores[i] * se * (1.0f - se) : 0.0f;
    float denom = 0, dot = 0;
    bool summed = false;
    for (int64_t k = 0; k < a.K; ++k) {
      if (ex[k] != e) continue;
      if (!summed) {
        float sum = 0;
        for (int64_t j = 0; j < a.K; ++j) {
          sum += s[ex[j]];
          dot += dw[j] * s[ex[j]];
        }
        denom = sum + 1e-20f;
        summed = true;
      }
      const float ds = a.norm_topk ? a.scaling * (dw[k] / denom - dot / (denom * denom)) : a.scaling * dw[k];
      o += ds * se * (1.0f - se);
    }
    a.out[i] = o;
  }
}

}  // namespace mt::kern
