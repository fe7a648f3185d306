// The sequence-wise balance loss (CPU: native/cpu/nn/moe_routing.cc). Per sequence b:
// f_i = E/(K*S) * (slots of b choosing i), P_i = mean over its tokens of s_i / sum_j s_j,
// L_b = sum_i f_i P_i; loss = alpha * mean over sequences of L_b, and with f held constant
// dL/ds_tj = alpha/B * (f_j - sum_i f_i p_ti) / (S * sum_i s_ti). On the GPU: per-chunk expert
// counts of each sequence (moe_counts.cuh), f summed from them per (sequence, expert) in chunk
// order, then one block per token (sums in double, fixed-order trees) writes its gradient row and
// its term of L; the host sums the terms in token order (the loss is returned to it anyway).
#pragma once

#include <vector>

#include "moe_counts.cuh"

namespace mt::kern {

struct SeqAuxLossArgs {
  const float* scores = nullptr;  // [B*S, E]
  const int32_t* counts = nullptr;  // [B][E][chunks]
  double* f = nullptr;              // [B, E]
  float* dscores = nullptr;         // [B*S, E]
  double* token_term = nullptr;     // [B*S]: sum_i f_i s_ti / sum_i s_ti
  int64_t B = 0, S = 0, E = 0, chunks = 0;
  double fscale = 0, gscale = 0;  // E/(K*S), alpha/B
};

// f[b, e], elementwise over [B, E].
MT_DEVICE void seq_aux_f_body(const SeqAuxLossArgs& a) {
  for (int64_t i = global_index(); i < a.B * a.E; i += grid_stride()) {
    int64_t n = 0;
    for (int64_t c = 0; c < a.chunks; ++c) n += a.counts[i * a.chunks + c];
    a.f[i] = double(n) * a.fscale;
  }
}

// One block (RowBlock) per token.
MT_DEVICE void seq_aux_rows_body(const SeqAuxLossArgs& a) {
  const int64_t t = dev::block_idx().x, b = t / a.S;
  const float* s = a.scores + t * a.E;
  const double* f = a.f + b * a.E;
  double z = 0, fs = 0;
  for (int64_t e = dev::thread_rank(); e < a.E; e += RowBlock::kThreads) {
    z += s[e];
    fs += f[e] * s[e];
  }
  z = block_reduce<RowBlock::kThreads>(dev::shared_at<double>(0), z, SumOp{});
  fs = block_reduce<RowBlock::kThreads>(dev::shared_at<double>(0), fs, SumOp{});
  for (int64_t e = dev::thread_rank(); e < a.E; e += RowBlock::kThreads)
    a.dscores[t * a.E + e] = float(a.gscale * (f[e] - fs / z) / (double(a.S) * z));
  if (dev::thread_rank() == 0) a.token_term[t] = fs / z;
}

// The loss from the tokens' terms, on the host: per sequence in token order, then the sequences
// in order (as the CPU op).
inline double seq_aux_loss_total(const std::vector<double>& token_term, int64_t B, int64_t S, double gscale) {
  double total = 0;
  for (int64_t b = 0; b < B; ++b) {
    double L = 0;
    for (int64_t t = b * S; t < (b + 1) * S; ++t) L += token_term[size_t(t)];
    total += L / double(S);
  }
  return gscale * total;
}

}  // namespace mt::kern
