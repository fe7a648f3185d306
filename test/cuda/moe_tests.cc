// The MoE kernels (native/cuda/kernels/moe_*.cuh) on the emulator against float64 references:
// routing with and without groups on random inputs and on exact ties, its backward against finite
// differences, the permutation (stable by expert, then token, then slot; several chunks, more
// experts than threads, one expert for every slot), the unpermutation and the backwards, and the
// sequence balance loss with its gradient against finite differences. Outputs start as NaN (or -7
// for indices), every case runs twice and must give the same bits.
#include <algorithm>
#include <numeric>

#include "../../native/cuda/kernels/moe_aux_loss.cuh"
#include "../../native/cuda/kernels/moe_permute.cuh"
#include "../../native/cuda/kernels/moe_route.cuh"
#include "simt_check.h"

using namespace emu_check;
using kern::ChunkCounts;
using kern::CountScan;
using kern::RouteBlock;

namespace {

std::vector<double> ints(const std::vector<int32_t>& v) { return std::vector<double>(v.begin(), v.end()); }
std::vector<int32_t> random_experts(size_t n, int32_t E) {
  std::vector<int32_t> v(n);
  for (auto& e : v) e = int32_t(rng() % uint64_t(E));
  return v;
}
double sigmoid64(double x) { return 1 / (1 + std::exp(-x)); }

// ---------------------------------------------------------------- moeRoute
struct RouteCase {
  int64_t T, E, K, G, topk_group;
};
struct RouteRef {
  std::vector<int32_t> experts;
  std::vector<double> weights, scores;
  double margin = INFINITY;  // the smallest gap between values whose order decides the choice (0 on exact ties)
};

// In float64: the choice by score + bias (groups by the sum of their two largest), ties to the
// lower index.
RouteRef route_ref(const std::vector<float>& logits, const std::vector<float>& bias, const RouteCase& c, bool norm, double sf) {
  RouteRef r;
  const int64_t gs = c.E / c.G;
  for (int64_t t = 0; t < c.T; ++t) {
    std::vector<double> s(size_t(c.E)), ch(size_t(c.E));
    for (int64_t e = 0; e < c.E; ++e) {
      s[size_t(e)] = sigmoid64(logits[size_t(t * c.E + e)]);
      ch[size_t(e)] = s[size_t(e)] + bias[size_t(e)];
      r.scores.push_back(s[size_t(e)]);
    }
    // Indices sorted by value descending, ties by index; the gaps up to position n count.
    const auto ranked = [&](const std::vector<double>& v, std::vector<int64_t> idx, size_t n) {
      std::stable_sort(idx.begin(), idx.end(), [&](int64_t a, int64_t b) { return v[size_t(a)] > v[size_t(b)]; });
      for (size_t i = 0; i + 1 < idx.size() && i < n; ++i) r.margin = std::min(r.margin, v[size_t(idx[i])] - v[size_t(idx[i + 1])]);
      return idx;
    };
    std::vector<char> kept(size_t(c.G), 1);
    if (c.G > 1) {
      std::vector<double> g(size_t(c.G));
      for (int64_t k = 0; k < c.G; ++k) {
        std::vector<double> m(ch.begin() + k * gs, ch.begin() + (k + 1) * gs);
        std::sort(m.rbegin(), m.rend());
        g[size_t(k)] = gs >= 2 ? m[0] + m[1] : m[0];
      }
      std::vector<int64_t> all(size_t(c.G));
      std::iota(all.begin(), all.end(), 0);
      const auto order = ranked(g, all, size_t(c.topk_group));
      std::fill(kept.begin(), kept.end(), 0);
      for (int64_t n = 0; n < c.topk_group; ++n) kept[size_t(order[size_t(n)])] = 1;
    }
    std::vector<int64_t> cand;
    for (int64_t e = 0; e < c.E; ++e)
      if (kept[size_t(e / gs)]) cand.push_back(e);
    const auto order = ranked(ch, cand, size_t(c.K));
    double sum = 0;
    for (int64_t k = 0; k < c.K; ++k) {
      r.experts.push_back(int32_t(order[size_t(k)]));
      sum += s[size_t(order[size_t(k)])];
    }
    for (int64_t k = 0; k < c.K; ++k) r.weights.push_back(s[size_t(order[size_t(k)])] * (norm ? sf / (sum + 1e-20) : sf));
  }
  return r;
}

// experts, weights, scores of the kernel.
std::vector<double> run_route(const std::vector<float>& logits, const std::vector<float>& bias, const RouteCase& c, bool norm, float sf) {
  std::vector<int32_t> experts(size_t(c.T * c.K), -7);
  auto weights = nans<float>(size_t(c.T * c.K)), scores = nans<float>(size_t(c.T * c.E)), gscores = nans<float>(size_t(c.T * c.G));
  kern::MoeRouteArgs a;
  a.logits = logits.data(), a.bias = bias.data(), a.scores = scores.data(), a.weights = weights.data(), a.experts = experts.data();
  a.group_scores = gscores.data(), a.tokens = c.T, a.E = c.E, a.K = c.K, a.G = c.G, a.topk_group = c.topk_group, a.norm_topk = norm, a.scaling = sf;
  launch("moe_route", RouteBlock::grid(c.T), RouteBlock::block(), 0, [&] { kern::moe_route_body(a); });
  std::vector<double> out = ints(experts);
  append(out, weights);
  append(out, scores);
  return out;
}

void check_route(const std::string& what, const std::vector<float>& logits, const std::vector<float>& bias, const RouteCase& c, bool norm, float sf) {
  const RouteRef ref = route_ref(logits, bias, c, norm, sf);
  std::vector<double> got;
  if (!twice(what, [&] { return run_route(logits, bias, c, norm, sf); }, &got)) return;
  const size_t nk = size_t(c.T * c.K);
  const std::vector<double> ex(got.begin(), got.begin() + nk);
  close(what + ": experts", ex, ints(ref.experts), 0.0);
  std::vector<double> rest(got.begin() + nk, got.end()), rref = ref.weights;
  rref.insert(rref.end(), ref.scores.begin(), ref.scores.end());
  close(what + ": weights, scores", rest, rref, 1e-5);
}

std::string route_name(const RouteCase& c, bool norm, float sf) {
  char b[160];
  std::snprintf(b, sizeof b, "moeRoute T=%ld E=%ld topK=%ld nGroup=%ld topkGroup=%ld normTopk=%d sf=%g", long(c.T), long(c.E), long(c.K), long(c.G),
                long(c.topk_group), int(norm), double(sf));
  return b;
}

void route_tests() {
  const RouteCase cases[] = {{1, 1, 1, 1, 1},   {7, 8, 3, 1, 1},    {37, 8, 8, 1, 1},  {37, 70, 6, 1, 1},
                             {7, 64, 8, 8, 3},  {37, 72, 5, 36, 4}, {7, 12, 2, 12, 12}, {5, 300, 7, 3, 2}};
  const std::pair<bool, float> norms[] = {{true, 1.0f}, {false, 0.7f}, {true, 2.5f}};
  int n = 0;
  for (const RouteCase& c : cases)
    for (const auto& [norm, sf] : norms) {
      // Random logits and bias whose choices are at least 1e-4 apart (no near-ties).
      std::vector<float> logits, bias;
      for (;;) {
        logits = random<float>(size_t(c.T * c.E), -4, 4), bias = random<float>(size_t(c.E), -0.3, 0.3);
        if (route_ref(logits, bias, c, norm, sf).margin > 1e-4) break;
      }
      check_route(route_name(c, norm, sf) + " random", logits, bias, c, norm, sf);
      // Exact ties: scores all 0.5, bias from {0, 0.25, 0.5}; the lower index wins, in groups too.
      std::vector<float> zero(size_t(c.T * c.E), 0.0f), tied(size_t(c.E));
      for (auto& b : tied) b = 0.25f * float(rng() % 3);
      if (n++ % 3 == 0) check_route(route_name(c, norm, sf) + " ties", zero, tied, c, norm, sf);
    }
  // All candidates equal: experts 0..K-1 (with groups: the lowest groups).
  const RouteCase flat{3, 16, 5, 4, 2};
  check_route(route_name(flat, true, 1) + " all equal", std::vector<float>(48, 0.0f), std::vector<float>(16, 0.0f), flat, true, 1);
}

// ---------------------------------------------------------------- moeRouteBackward
// L = sum dw . w(logits) + sum ds . sigmoid(logits), w as moeRoute makes it from the given
// experts (a repeated expert counts once per slot).
double route_loss(const std::vector<double>& logits, const std::vector<int32_t>& ex, const std::vector<float>& dw, const std::vector<float>* ds,
                  int64_t T, int64_t E, int64_t K, bool norm, double sf) {
  double L = 0;
  for (int64_t t = 0; t < T; ++t) {
    double sum = 0;
    for (int64_t k = 0; k < K; ++k) sum += sigmoid64(logits[size_t(t * E + ex[size_t(t * K + k)])]);
    for (int64_t k = 0; k < K; ++k) {
      const double s = sigmoid64(logits[size_t(t * E + ex[size_t(t * K + k)])]);
      L += dw[size_t(t * K + k)] * (norm ? sf * s / (sum + 1e-20) : sf * s);
    }
    if (ds)
      for (int64_t e = 0; e < E; ++e) L += (*ds)[size_t(t * E + e)] * sigmoid64(logits[size_t(t * E + e)]);
  }
  return L;
}

void route_backward_tests() {
  for (const auto& [T, E, K] : {std::tuple<int64_t, int64_t, int64_t>{7, 8, 3}, {37, 70, 6}, {5, 5, 5}})
    for (const bool norm : {true, false})
      for (const bool with_ds : {false, true})
        for (const bool repeat : {false, true}) {
          if (repeat && (!norm || with_ds)) continue;
          const double sf = norm ? 2.5 : 1.5;
          const auto logits = random<float>(size_t(T * E), -3, 3), dw = random<float>(size_t(T * K)), ds = random<float>(size_t(T * E));
          std::vector<int32_t> ex;
          for (int64_t t = 0; t < T; ++t) {
            std::vector<int32_t> p(static_cast<size_t>(E));
            std::iota(p.begin(), p.end(), 0);
            std::shuffle(p.begin(), p.end(), rng);
            if (repeat) p[1] = p[0];  // a user's experts may repeat one
            ex.insert(ex.end(), p.begin(), p.begin() + K);
          }
          std::vector<float> scores(size_t(T * E));
          for (size_t i = 0; i < scores.size(); ++i) scores[i] = float(sigmoid64(logits[i]));
          // The reference: central differences of L in the logits.
          std::vector<double> x(logits.begin(), logits.end()), ref(x.size());
          for (size_t i = 0; i < x.size(); ++i) {
            const double h = 1e-5, x0 = x[i];
            x[i] = x0 + h;
            const double up = route_loss(x, ex, dw, with_ds ? &ds : nullptr, T, E, K, norm, sf);
            x[i] = x0 - h;
            const double down = route_loss(x, ex, dw, with_ds ? &ds : nullptr, T, E, K, norm, sf);
            x[i] = x0;
            ref[i] = (up - down) / (2 * h);
          }
          char b[160];
          std::snprintf(b, sizeof b, "moeRouteBackward T=%ld E=%ld topK=%ld normTopk=%d%s%s (finite differences)", long(T), long(E), long(K), int(norm),
                        with_ds ? " with dscores" : "", repeat ? " with a repeated expert" : "");
          std::vector<double> got;
          if (twice(b, [&] {
                auto out = nans<float>(size_t(T * E));
                kern::MoeRouteBackwardArgs a;
                a.dweights = dw.data(), a.scores = scores.data(), a.dscores = with_ds ? ds.data() : nullptr, a.experts = ex.data(), a.out = out.data();
                a.tokens = T, a.E = E, a.K = K, a.norm_topk = norm, a.scaling = float(sf);
                launch_elementwise("moe_route_backward", T * E, [&] { kern::moe_route_backward_body(a); });
                return widen_all(out);
              }, &got))
            close(b, got, ref, 1e-5, 0.1);
        }
}

// ---------------------------------------------------------------- moePermute
// group sizes, order, xs of the kernels (four launches, as native/cuda/moe_permute.cu).
template <class T>
std::vector<double> run_permute(const std::vector<T>& x, const std::vector<int32_t>& experts, int64_t tokens, int64_t D, int64_t E) {
  const int64_t N = int64_t(experts.size()), K = N / tokens, chunks = ChunkCounts::chunks(N);
  std::vector<int32_t> offsets(size_t(E * chunks), -7), sizes(size_t(E), -7), order(size_t(N), -7);
  auto xs = nans<T>(size_t(N * D));
  kern::ChunkCountArgs c;
  c.experts = experts.data(), c.counts = offsets.data(), c.seg_len = N, c.chunks = chunks, c.E = E;
  const dev::Dim3 grid{unsigned(chunks), 1, 1};
  launch("permute_counts", grid, ChunkCounts::block(), ChunkCounts::kSmemBytes, [&] { kern::chunk_counts_body(c); });
  kern::PermuteArgs p;
  p.experts = experts.data(), p.offsets = offsets.data(), p.group_sizes = sizes.data(), p.order = order.data(), p.N = N, p.E = E, p.chunks = chunks;
  launch("permute_scan", dev::Dim3{1, 1, 1}, CountScan::block(), CountScan::kSmemBytes, [&] { kern::permute_scan_body(p); });
  launch("permute_scatter", grid, ChunkCounts::block(), ChunkCounts::kSmemBytes, [&] { kern::permute_scatter_body(p); });
  kern::PermuteGatherArgs<T> g;
  g.x = x.data(), g.xs = xs.data(), g.order = order.data(), g.N = N, g.D = D, g.K = K;
  launch_elementwise("permute_gather", N * D, [&] { kern::permute_gather_body(g); });
  std::vector<double> out = ints(sizes), o = ints(order), rows = widen_all(xs);
  out.insert(out.end(), o.begin(), o.end());
  out.insert(out.end(), rows.begin(), rows.end());
  return out;
}

template <class T>
void permute_tests() {
  struct Case {
    int64_t tokens, K, E, used, D;  // experts drawn from [0, used)
    const char* about;
  };
  const Case cases[] = {{37, 3, 5, 5, 33, "one chunk"},
                        {300, 2, 7, 6, 5, "3 chunks, expert 6 unused"},
                        {700, 1, 300, 300, 3, "more experts than threads"},
                        {129, 4, 1, 1, 7, "one expert for every slot"},
                        {3, 2, 4, 4, 0, "D = 0"}};
  for (const Case& cs : cases) {
    const int64_t N = cs.tokens * cs.K;
    const auto x = random<T>(size_t(cs.tokens * cs.D));
    const auto experts = random_experts(size_t(N), int32_t(cs.used));
    // Reference: a stable sort of the slots by expert.
    std::vector<int32_t> order(static_cast<size_t>(N)), sizes(size_t(cs.E), 0);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return experts[size_t(a)] < experts[size_t(b)]; });
    for (int32_t e : experts) ++sizes[size_t(e)];
    std::vector<double> ref = ints(sizes), o = ints(order);
    ref.insert(ref.end(), o.begin(), o.end());
    for (int64_t r = 0; r < N; ++r)
      for (int64_t j = 0; j < cs.D; ++j) ref.push_back(wide(x[size_t((order[size_t(r)] / cs.K) * cs.D + j)]));
    char b[200];
    std::snprintf(b, sizeof b, "moePermute %s T=%ld topK=%ld E=%ld D=%ld (%s): group sizes, order, rows", tname<T>(), long(cs.tokens), long(cs.K),
                  long(cs.E), long(cs.D), cs.about);
    std::vector<double> got;
    if (twice(b, [&] { return run_permute(x, experts, cs.tokens, cs.D, cs.E); }, &got)) close(b, got, ref, 0.0);
  }
}

// ---------------------------------------------------------------- unpermute and the backwards
template <class T>
void unpermute_tests() {
  for (const auto& [tokens, K, D] : {std::tuple<int64_t, int64_t, int64_t>{37, 3, 33}, {300, 2, 5}, {5, 1, 1}}) {
    const int64_t N = tokens * K;
    std::vector<int32_t> order(static_cast<size_t>(N)), rows(static_cast<size_t>(N));
    std::iota(order.begin(), order.end(), 0);
    std::shuffle(order.begin(), order.end(), rng);
    for (int64_t r = 0; r < N; ++r) rows[size_t(order[size_t(r)])] = int32_t(r);
    const auto ys = random<T>(size_t(N * D)), dy = random<T>(size_t(tokens * D)), dxs = random<T>(size_t(N * D));
    const auto w = random<float>(size_t(N), 0, 1);
    std::vector<double> ry, rdx, rdys(size_t(N * D)), rdw(static_cast<size_t>(N));
    for (int64_t t = 0; t < tokens; ++t)
      for (int64_t j = 0; j < D; ++j) {
        double y = 0, dx = 0;
        for (int64_t k = 0; k < K; ++k) {
          const int64_t f = t * K + k, r = rows[size_t(f)];
          y += double(w[size_t(f)]) * wide(ys[size_t(r * D + j)]);
          dx += wide(dxs[size_t(r * D + j)]);
          rdys[size_t(r * D + j)] = double(w[size_t(f)]) * wide(dy[size_t(t * D + j)]);
          rdw[size_t(f)] += wide(dy[size_t(t * D + j)]) * wide(ys[size_t(r * D + j)]);
        }
        ry.push_back(y);
        rdx.push_back(dx);
      }
    char shape[96];
    std::snprintf(shape, sizeof shape, " %s T=%ld topK=%ld D=%ld", tname<T>(), long(tokens), long(K), long(D));
    // The inverse of the order, as the launcher makes it.
    const auto inverse = [&] {
      std::vector<int32_t> inv(size_t(N), -7);
      launch_elementwise("inverse_order", N, [&] { kern::inverse_order_body(order.data(), inv.data(), N); });
      return inv;
    };
    std::vector<double> got;
    const std::string u = std::string("moeUnpermute") + shape;
    if (twice(u, [&] {
          const auto inv = inverse();
          auto y = nans<T>(size_t(tokens * D));
          kern::UnpermuteArgs<T> a;
          a.ys = ys.data(), a.weights = w.data(), a.rows = inv.data(), a.out = y.data(), a.tokens = tokens, a.K = K, a.D = D;
          launch_elementwise("unpermute", tokens * D, [&] { kern::unpermute_body(a); });
          return widen_all(y);
        }, &got))
      close(u, got, ry, tol<T>());
    const std::string pb = std::string("moePermuteBackward") + shape;
    if (twice(pb, [&] {
          const auto inv = inverse();
          auto dx = nans<T>(size_t(tokens * D));
          kern::UnpermuteArgs<T> a;
          a.dxs = dxs.data(), a.rows = inv.data(), a.out = dx.data(), a.tokens = tokens, a.K = K, a.D = D;
          launch_elementwise("unpermute", tokens * D, [&] { kern::unpermute_body(a); });
          return widen_all(dx);
        }, &got))
      close(pb, got, rdx, tol<T>());
    const std::string ub = std::string("moeUnpermuteBackward") + shape + " (dys, dweights)";
    std::vector<double> ref = rdys;
    ref.insert(ref.end(), rdw.begin(), rdw.end());
    if (twice(ub, [&] {
          auto dys = nans<T>(size_t(N * D));
          auto dw = nans<float>(size_t(N));
          kern::UnpermuteArgs<T> a;
          a.ys = ys.data(), a.dy = dy.data(), a.weights = w.data(), a.order = order.data(), a.out = dys.data(), a.dweights = dw.data();
          a.tokens = tokens, a.K = K, a.D = D;
          launch_elementwise("unpermute_backward_dys", N * D, [&] { kern::unpermute_backward_dys_body(a); });
          launch("unpermute_backward_dweights", dev::Dim3{unsigned(N), 1, 1}, RowBlock::block(), RowBlock::kSmemBytes,
                 [&] { kern::unpermute_backward_dweights_body(a); });
          std::vector<double> out = widen_all(dys);
          append(out, dw);
          return out;
        }, &got))
      close(ub, got, ref, sizeof(T) == 2 ? tol<T>() : 2e-6);
  }
}

// ---------------------------------------------------------------- moeSeqAuxLoss
// L(s) with f from the experts (held constant), in float64.
double aux_loss_ref(const std::vector<double>& s, const std::vector<int32_t>& ex, int64_t B, int64_t S, int64_t K, int64_t E, double alpha) {
  double total = 0;
  for (int64_t b = 0; b < B; ++b) {
    std::vector<double> f(size_t(E), 0.0);
    for (int64_t i = b * S * K; i < (b + 1) * S * K; ++i) f[size_t(ex[size_t(i)])] += double(E) / double(K * S);
    for (int64_t t = b * S; t < (b + 1) * S; ++t) {
      double z = 0, fs = 0;
      for (int64_t e = 0; e < E; ++e) {
        z += s[size_t(t * E + e)];
        fs += f[size_t(e)] * s[size_t(t * E + e)];
      }
      total += fs / z / double(S);
    }
  }
  return alpha / double(B) * total;
}

void seq_aux_loss_tests() {
  for (const auto& [B, S, K, E] : {std::tuple<int64_t, int64_t, int64_t, int64_t>{3, 37, 3, 11}, {2, 100, 3, 300}, {1, 1, 1, 1}}) {
    const double alpha = 0.37;
    const auto scores = random<float>(size_t(B * S * E), 0.01, 1);
    const auto ex = random_experts(size_t(B * S * K), int32_t(E));
    std::vector<double> s(scores.begin(), scores.end()), ref = {aux_loss_ref(s, ex, B, S, K, E, alpha)};
    // The gradient with f constant: alpha/B (f_j - sum_i f_i p_ti) / (S sum_i s_ti).
    for (int64_t t = 0; t < B * S; ++t) {
      std::vector<double> f(size_t(E), 0.0);
      for (int64_t i = (t / S) * S * K; i < (t / S + 1) * S * K; ++i) f[size_t(ex[size_t(i)])] += double(E) / double(K * S);
      double z = 0, fs = 0;
      for (int64_t e = 0; e < E; ++e) z += s[size_t(t * E + e)], fs += f[size_t(e)] * s[size_t(t * E + e)];
      for (int64_t e = 0; e < E; ++e) ref.push_back(alpha / double(B) * (f[size_t(e)] - fs / z) / (double(S) * z));
    }
    // ... which central differences of the loss confirm (on at most ~100 entries).
    std::vector<double> fd, an;
    for (size_t i = 0; i < s.size(); i += 1 + s.size() / 100) {
      const double h = 1e-6, s0 = s[i];
      s[i] = s0 + h;
      const double up = aux_loss_ref(s, ex, B, S, K, E, alpha);
      s[i] = s0 - h;
      const double down = aux_loss_ref(s, ex, B, S, K, E, alpha);
      s[i] = s0;
      fd.push_back((up - down) / (2 * h));
      an.push_back(ref[1 + i]);
    }
    char fdname[160];
    std::snprintf(fdname, sizeof fdname, "moeSeqAuxLoss B=%ld S=%ld topK=%ld E=%ld: the reference gradient against finite differences", long(B), long(S), long(K), long(E));
    close(fdname, an, fd, 1e-6, 1e-3);
    char b[160];
    std::snprintf(b, sizeof b, "moeSeqAuxLoss B=%ld S=%ld topK=%ld E=%ld: loss, dscores", long(B), long(S), long(K), long(E));
    std::vector<double> got;
    if (twice(b, [&] {
          const int64_t slots = S * K, chunks = ChunkCounts::chunks(slots);
          std::vector<int32_t> counts(size_t(B * E * chunks), -7);
          std::vector<double> f(size_t(B * E), NAN), terms(size_t(B * S), NAN);
          auto ds = nans<float>(size_t(B * S * E));
          kern::ChunkCountArgs c;
          c.experts = ex.data(), c.counts = counts.data(), c.seg_len = slots, c.chunks = chunks, c.E = E;
          launch("seq_aux_counts", dev::Dim3{unsigned(B * chunks), 1, 1}, ChunkCounts::block(), ChunkCounts::kSmemBytes, [&] { kern::chunk_counts_body(c); });
          kern::SeqAuxLossArgs a;
          a.scores = scores.data(), a.counts = counts.data(), a.f = f.data(), a.dscores = ds.data(), a.token_term = terms.data();
          a.B = B, a.S = S, a.E = E, a.chunks = chunks, a.fscale = double(E) / double(K * S), a.gscale = alpha / double(B);
          launch_elementwise("seq_aux_f", B * E, [&] { kern::seq_aux_f_body(a); });
          launch("seq_aux_rows", dev::Dim3{unsigned(B * S), 1, 1}, RowBlock::block(), RowBlock::kSmemBytes, [&] { kern::seq_aux_rows_body(a); });
          std::vector<double> out = {kern::seq_aux_loss_total(terms, B, S, a.gscale)};
          append(out, ds);
          return out;
        }, &got))
      close(b, got, ref, 1e-5, 1e-6);
  }
}

}  // namespace

void moe_tests() {
  route_tests();
  route_backward_tests();
  permute_tests<float>();
  permute_tests<bf16>();
  unpermute_tests<float>();
  unpermute_tests<bf16>();
  seq_aux_loss_tests();
}
