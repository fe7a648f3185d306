// The option and result types of the public ops, shared by every backend (native/cpu/,
// native/cuda/) and the N-API layer. Backend-neutral: only core/ types, no backend header.
#pragma once
#include <array>
#include <cstdint>
#include <vector>

#include "core/tensor.h"

namespace mt {

struct NewtonSchulzOptions {
  std::vector<std::array<float, 3>> coefficients;  // one (a, b, c) per step
  float eps = 1e-7f;
};

// The geometry of newtonSchulz on x [m,n] or [batch,m,n]: each matrix is worked on as r x c,
// r <= c, transposed when m > n.
struct NewtonSchulzShape {
  int64_t batch, m, n, r, c;
  bool transpose;
};
inline NewtonSchulzShape newton_schulz_shape(const Tensor& x) {
  const bool batched = x.rank() == 3;
  const int64_t m = x.shape[batched ? 1 : 0], n = x.shape[batched ? 2 : 1];
  return {batched ? x.shape[0] : 1, m, n, m > n ? n : m, m > n ? m : n, m > n};
}

struct RmsNormResult {
  Tensor y, rstd;  // y [T,D] (dtype of x), rstd [T] f32
};
struct RmsNormGrads {
  Tensor dx, dweight;
};

struct RopeOptions {
  double theta = 10000.0;
  bool interleave = true;  // pairs (x[2i], x[2i+1]); false: (x[i], x[i+d/2])
  bool inverse = false;    // rotate by -angle (the backward)
  int64_t rope_dim = 0;    // rotate the last rope_dim (even) of d, copy the rest; 0: all of d
};

struct AttentionOptions {
  float scale = 1.0f;
  bool causal = true;
  bool keep_probs = false;  // forward: also return the probabilities
};
struct AttentionResult {
  Tensor out, lse;  // out [B,S,H,dv] (dtype of q), lse [B,H,S] f32
  Tensor probs;     // [B,H,S,S] in q's dtype (zero past the diagonal when causal), if kept
};
struct AttentionGrads {
  Tensor dq, dk, dv;
};

struct SwigluGrads {
  Tensor dgate, dup;
};

struct CrossEntropyResult {
  double loss = 0;    // mean over counted rows (0 when none counts)
  int64_t count = 0;  // rows with target >= 0
  Tensor lse;         // [T] f32
};

struct MoeRouteOptions {
  int64_t top_k = 1;
  bool norm_topk = true;
  float scaling_factor = 1.0f;
  int64_t n_group = 1;
  int64_t topk_group = 1;
};
struct MoeRouteResult {
  Tensor experts;          // [T*topK] i32, per token in descending order of score + bias
  Tensor weights, scores;  // [T,topK] f32, [T,E] f32
};
struct MoePermuteResult {
  Tensor xs;           // [T*K, D]
  Tensor group_sizes;  // [E] i32
  Tensor order;        // [T*K] i32, order[r] = t*K + slot
};
struct MoeUnpermuteGrads {
  Tensor dys, dweights;
};
struct SeqAuxLossOptions {
  int64_t batch = 1, seq_len = 1, top_k = 1;
  double alpha = 0;
};
struct SeqAuxLossResult {
  double loss = 0;
  Tensor dscores;  // [B*S, E] f32
};

struct AdamWOptions {
  double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 1e-2;
  int64_t step = 1;
};
struct MuonMomentumOptions {
  double momentum = 0.95;
  bool nesterov = true;
};
struct MuonApplyOptions {
  double lr = 0, weight_decay = 0, scale = 1;
};

}  // namespace mt
