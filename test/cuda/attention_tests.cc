// The attention kernels (native/cuda/kernels/attention.cuh) on the emulator against float64
// references: the forward (out, lse, the kept probabilities), the backward recomputing the
// probabilities from lse and the one reusing the kept ones, f32 and bf16, causal and not, on
// small odd shapes, past one chunk of keys (S = 70) and past one column per thread (dk 150);
// large logits, rows with no visible key. The float64 backward reference is itself checked
// against central finite differences of the float64 forward.
#include <algorithm>

#include "../../native/cuda/kernels/attention.cuh"
#include "simt_check.h"

using namespace emu_check;

using kern::AttentionBlock;

namespace {

// q [B,Sq,H,dk], k [B,Sk,H,dk], v [B,Sk,H,dv]; the op itself always has Sk = Sq.
struct Dims {
  int64_t B, Sq, Sk, H, dk, dv;
  std::string str() const {
    return "B" + std::to_string(B) + " Sq" + std::to_string(Sq) + " Sk" + std::to_string(Sk) + " H" + std::to_string(H) + " dk" + std::to_string(dk) +
           " dv" + std::to_string(dv);
  }
  size_t q_size() const { return size_t(B * Sq * H * dk); }
  size_t k_size() const { return size_t(B * Sk * H * dk); }
  size_t v_size() const { return size_t(B * Sk * H * dv); }
  size_t o_size() const { return size_t(B * Sq * H * dv); }
  size_t rows() const { return size_t(B * H * Sq); }
  int64_t keys(int64_t i, bool causal) const { return causal ? std::min(i + 1, Sk) : Sk; }
  size_t qi(int64_t b, int64_t i, int64_t h) const { return size_t(((b * Sq + i) * H + h) * dk); }
  size_t ki(int64_t b, int64_t j, int64_t h) const { return size_t(((b * Sk + j) * H + h) * dk); }
  size_t vi(int64_t b, int64_t j, int64_t h) const { return size_t(((b * Sk + j) * H + h) * dv); }
  size_t oi(int64_t b, int64_t i, int64_t h) const { return size_t(((b * Sq + i) * H + h) * dv); }
};

struct ForwardRef {
  std::vector<double> out, lse, probs;  // probs [B,H,Sq,Sk], zero where masked
};

ForwardRef attention_ref(const std::vector<double>& q, const std::vector<double>& k, const std::vector<double>& v, const Dims& d, double scale,
                         bool causal) {
  ForwardRef r{std::vector<double>(d.o_size(), 0.0), {}, std::vector<double>(d.rows() * size_t(d.Sk), 0.0)};
  std::vector<double> s(size_t(d.Sk));
  for (int64_t b = 0; b < d.B; ++b)
    for (int64_t h = 0; h < d.H; ++h)
      for (int64_t i = 0; i < d.Sq; ++i) {
        const int64_t keys = d.keys(i, causal), row = (b * d.H + h) * d.Sq + i;
        double m = -INFINITY, sum = 0;
        for (int64_t j = 0; j < keys; ++j) {
          double dot = 0;
          for (int64_t c = 0; c < d.dk; ++c) dot += q[d.qi(b, i, h) + size_t(c)] * k[d.ki(b, j, h) + size_t(c)];
          s[size_t(j)] = scale * dot;
          m = std::max(m, s[size_t(j)]);
        }
        for (int64_t j = 0; j < keys; ++j) sum += std::exp(s[size_t(j)] - m);
        const double lse = keys > 0 ? m + std::log(sum) : -INFINITY;
        r.lse.push_back(lse);
        for (int64_t j = 0; j < keys; ++j) {
          const double p = std::exp(s[size_t(j)] - lse);
          r.probs[size_t(row * d.Sk + j)] = p;
          for (int64_t c = 0; c < d.dv; ++c) r.out[d.oi(b, i, h) + size_t(c)] += p * v[d.vi(b, j, h) + size_t(c)];
        }
      }
  return r;
}

struct Grads {
  std::vector<double> dq, dk, dv;
};

// The gradients of sum(dout ⊙ out); delta = rowsum(dout ⊙ out) from `out` (the forward's result
// as the kernel was given it, which in bf16 is rounded).
Grads attention_backward_ref(const std::vector<double>& dout, const std::vector<double>& q, const std::vector<double>& k, const std::vector<double>& v,
                             const std::vector<double>& out, const Dims& d, double scale, bool causal) {
  const ForwardRef f = attention_ref(q, k, v, d, scale, causal);
  Grads g{std::vector<double>(d.q_size(), 0.0), std::vector<double>(d.k_size(), 0.0), std::vector<double>(d.v_size(), 0.0)};
  for (int64_t b = 0; b < d.B; ++b)
    for (int64_t h = 0; h < d.H; ++h)
      for (int64_t i = 0; i < d.Sq; ++i) {
        const int64_t row = (b * d.H + h) * d.Sq + i;
        double delta = 0;
        for (int64_t c = 0; c < d.dv; ++c) delta += dout[d.oi(b, i, h) + size_t(c)] * out[d.oi(b, i, h) + size_t(c)];
        for (int64_t j = 0; j < d.keys(i, causal); ++j) {
          const double p = f.probs[size_t(row * d.Sk + j)];
          double dp = 0;
          for (int64_t c = 0; c < d.dv; ++c) {
            dp += dout[d.oi(b, i, h) + size_t(c)] * v[d.vi(b, j, h) + size_t(c)];
            g.dv[d.vi(b, j, h) + size_t(c)] += p * dout[d.oi(b, i, h) + size_t(c)];
          }
          const double ds = scale * p * (dp - delta);
          for (int64_t c = 0; c < d.dk; ++c) {
            g.dq[d.qi(b, i, h) + size_t(c)] += ds * k[d.ki(b, j, h) + size_t(c)];
            g.dk[d.ki(b, j, h) + size_t(c)] += ds * q[d.qi(b, i, h) + size_t(c)];
          }
        }
      }
  return g;
}

// The float64 backward against central differences of sum(dout ⊙ attention_ref(...).out).
void finite_difference_tests() {
  const Dims d{2, 5, 5, 2, 3, 4};
  for (const bool causal : {true, false}) {
    auto q = widen_all(random<float>(d.q_size())), k = widen_all(random<float>(d.k_size())), v = widen_all(random<float>(d.v_size()));
    const auto dout = widen_all(random<float>(d.o_size()));
    const double scale = 0.7, eps = 1e-5;
    const Grads g = attention_backward_ref(dout, q, k, v, attention_ref(q, k, v, d, scale, causal).out, d, scale, causal);
    const auto loss = [&] {
      const std::vector<double> out = attention_ref(q, k, v, d, scale, causal).out;
      double l = 0;
      for (size_t i = 0; i < out.size(); ++i) l += dout[i] * out[i];
      return l;
    };
    const auto numeric = [&](std::vector<double>& x) {
      std::vector<double> grad(x.size());
      for (size_t i = 0; i < x.size(); ++i) {
        const double x0 = x[i];
        x[i] = x0 + eps;
        const double up = loss();
        x[i] = x0 - eps;
        const double down = loss();
        x[i] = x0;
        grad[i] = (up - down) / (2 * eps);
      }
      return grad;
    };
    const std::string what = std::string("attention float64 backward reference vs finite differences, ") + d.str() + (causal ? " causal" : "");
    close(what + " dq", g.dq, numeric(q), 1e-7);
    close(what + " dk", g.dk, numeric(k), 1e-7);
    close(what + " dv", g.dv, numeric(v), 1e-7);
  }
}

template <class T>
struct Case {
  Dims d;
  bool causal;
  float scale;
  std::vector<T> q, k, v, dout;
  std::string name;
};

template <class T>
kern::AttentionArgs<T> args_of(const Case<T>& c) {
  kern::AttentionArgs<T> a;
  a.q = c.q.data(), a.k = c.k.data(), a.v = c.v.data(), a.scale = c.scale, a.causal = c.causal;
  a.B = c.d.B, a.Sq = c.d.Sq, a.Sk = c.d.Sk, a.H = c.d.H, a.Dk = c.d.dk, a.Dv = c.d.dv;
  return a;
}

template <class Body>
void launch_rows(const char* name, size_t rows, const Dims& d, Body body) {
  if (rows > 0) launch(name, dev::Dim3{unsigned(rows), 1, 1}, AttentionBlock::block(), AttentionBlock::layout(d.dk, d.dv).bytes, body);
}

// What a forward run gives.
template <class T>
struct Forward {
  std::vector<T> out, probs;
  std::vector<float> lse;
};

template <class T>
Forward<T> run_forward(const Case<T>& c, bool keep) {
  Forward<T> f{nans<T>(c.d.o_size()), keep ? nans<T>(c.d.rows() * size_t(c.d.Sk)) : std::vector<T>(), nans<float>(c.d.rows())};
  kern::AttentionArgs<T> a = args_of(c);
  a.out = f.out.data(), a.lse = f.lse.data(), a.probs = keep ? f.probs.data() : nullptr;
  launch_rows("attention", c.d.rows(), c.d, [&] { kern::attention_forward_body(a); });
  return f;
}

template <class T>
std::vector<double> run_backward(const Case<T>& c, const Forward<T>& f, bool use_probs) {
  auto dq = nans<T>(c.d.q_size()), dk = nans<T>(c.d.k_size()), dv = nans<T>(c.d.v_size());
  auto lse = f.lse;
  auto delta = nans<float>(c.d.rows());
  kern::AttentionArgs<T> a = args_of(c);
  a.dout = c.dout.data(), a.out_in = f.out.data(), a.probs_in = use_probs ? f.probs.data() : nullptr, a.lse = lse.data(), a.delta = delta.data();
  a.dq = dq.data(), a.dk = dk.data(), a.dv = dv.data();
  launch_rows("attention_backward_dq", c.d.rows(), c.d, [&] { kern::attention_backward_dq_body(a); });
  launch_rows("attention_backward_dkv", size_t(c.d.B * c.d.H * c.d.Sk), c.d, [&] { kern::attention_backward_dkv_body(a); });
  std::vector<double> r = widen_all(dq);
  append(r, dk);
  append(r, dv);
  return r;
}

// Relative tolerances (with a floor of 1 on the magnitude): of out and probs, of lse, of the
// gradients. 5 to 8x the largest error seen on the cases below: f32 forward 5e-7, gradients
// 1.5e-6; bf16 (outputs rounded to bf16; the kept probabilities too) forward 2e-3, gradients 6e-3.
struct Tolerance {
  double out, lse, grads;
};
template <class T>
Tolerance default_tol() { return sizeof(T) == 2 ? Tolerance{1.0 / 64, 2e-6, 1.0 / 32} : Tolerance{4e-6, 2e-6, 1e-5}; }

// Runs the forward (with and without kept probabilities) and both backwards of one case, each
// twice, against the float64 references.
template <class T>
void check_case(const Case<T>& c, const Tolerance& tol = default_tol<T>()) {
  const std::string what = std::string("attention ") + tname<T>() + " " + c.name + " " + c.d.str() + (c.causal ? " causal" : "") + " scale " + std::to_string(c.scale);
  const ForwardRef r = attention_ref(widen_all(c.q), widen_all(c.k), widen_all(c.v), c.d, c.scale, c.causal);
  Forward<T> plain, kept;
  std::vector<double> got;
  const bool forward_ran = twice(what, [&] {
    plain = run_forward(c, false);
    std::vector<double> o = widen_all(plain.out);
    append(o, plain.lse);
    return o;
  }, &got);
  if (forward_ran) {
    close(what + " out", std::vector<double>(got.begin(), got.begin() + long(c.d.o_size())), r.out, tol.out);
    bool finite = true;
    for (size_t i = 0; i < r.lse.size(); ++i) finite = finite && std::isfinite(r.lse[i]);
    if (finite) close(what + " lse", std::vector<double>(got.begin() + long(c.d.o_size()), got.end()), r.lse, tol.lse);
    else {  // rows with no visible key: lse exactly -inf
      bool all = true;
      for (size_t i = 0; i < r.lse.size(); ++i) all = all && got[c.d.o_size() + i] == r.lse[i];
      report(all, what + " lse is -inf exactly where no key is visible");
    }
  }
  const bool kept_ran = twice(what + " keepProbs", [&] {
    kept = run_forward(c, true);
    std::vector<double> o = widen_all(kept.probs);
    append(o, kept.out);
    return o;
  }, &got);
  if (kept_ran && forward_ran) {
    close(what + " probs", std::vector<double>(got.begin(), got.begin() + long(r.probs.size())), r.probs, tol.out);
    size_t masked_nonzero = 0, out_differ = 0;
    for (size_t i = 0; i < r.probs.size(); ++i) masked_nonzero += r.probs[i] == 0 && got[i] != 0;
    for (size_t i = 0; i < c.d.o_size(); ++i) out_differ += wide(kept.out[i]) != wide(plain.out[i]);
    report(masked_nonzero == 0, what + " probs exactly 0 where masked (" + std::to_string(masked_nonzero) + " not)");
    report(out_differ == 0, what + " out has the same bits with keepProbs (" + std::to_string(out_differ) + " differ)");
  }
  if (!forward_ran) return;  // the backward needs the forward's out and lse
  // The reference backward takes the out the kernel was given (rounded in bf16).
  const Grads g = attention_backward_ref(widen_all(c.dout), widen_all(c.q), widen_all(c.k), widen_all(c.v), widen_all(plain.out), c.d, c.scale, c.causal);
  std::vector<double> ref = g.dq;
  ref.insert(ref.end(), g.dk.begin(), g.dk.end());
  ref.insert(ref.end(), g.dv.begin(), g.dv.end());
  for (const bool use_probs : {false, true}) {
    if (use_probs && !kept_ran) continue;
    const std::string bw = what + (use_probs ? " backward from the kept probs" : " backward from lse");
    if (twice(bw, [&] { return run_backward(c, use_probs ? kept : plain, use_probs); }, &got)) close(bw + " (dq, dk, dv)", got, ref, tol.grads);
  }
}

template <class T>
Case<T> make_case(const Dims& d, bool causal, std::string name, double lo = -2, double hi = 2) {
  Case<T> c{d, causal, float(1 / std::sqrt(double(d.dk > 0 ? d.dk : 1))), random<T>(d.q_size(), lo, hi), random<T>(d.k_size(), lo, hi),
            random<T>(d.v_size()), random<T>(d.o_size()), std::move(name)};
  return c;
}

// The largest |scale·q·k| over all query-key pairs of a case.
template <class T>
double max_score(const Case<T>& c) {
  double top = 0;
  for (int64_t b = 0; b < c.d.B; ++b)
    for (int64_t h = 0; h < c.d.H; ++h)
      for (int64_t i = 0; i < c.d.Sq; ++i)
        for (int64_t j = 0; j < c.d.Sk; ++j) {
          double s = 0;
          for (int64_t x = 0; x < c.d.dk; ++x) s += wide(c.q[c.d.qi(b, i, h) + size_t(x)]) * wide(c.k[c.d.ki(b, j, h) + size_t(x)]);
          top = std::max(top, std::fabs(c.scale * s));
        }
  return top;
}

template <class T>
void attention_tests_for() {
  for (const int64_t S : {1, 7, 33})
    for (const int64_t dim : {8, 24})
      for (const int64_t H : {1, 3})
        for (const bool causal : {true, false}) {
          // batched with one head, dv != dk with three
          const Dims d{H == 1 ? 2 : 1, S, S, H, dim, H == 1 ? dim : dim - 3};
          check_case(make_case<T>(d, causal, "odd shape"));
        }
  for (const bool causal : {true, false}) {
    check_case(make_case<T>({1, 70, 70, 1, 8, 5}, causal, "keys past one chunk"));
    check_case(make_case<T>({1, 7, 7, 2, 150, 140}, causal, "columns past one per thread"));
    check_case(make_case<T>({1, 7, 5, 2, 8, 11}, causal, "fewer keys than queries"));
    check_case(make_case<T>({1, 5, 0, 2, 8, 8}, causal, "no visible key"));
    // Scores in the hundreds: exp overflows float past 88.7 unless the row max is subtracted
    // first. The float scores carry rounding of about |s|·2^-24 per term, which the gradients
    // (scale·p·...) amplify: errors seen f32 1.5e-5 forward, 3.2e-4 gradients; bf16 2e-3, 1.3e-2.
    Case<T> big = make_case<T>({1, 33, 33, 2, 24, 24}, causal, "large logits");
    big.scale = 12;
    const double top = max_score(big);
    report(top > 200, "large logits: the largest score is " + std::to_string(top) + " (> 200)");
    check_case(big, sizeof(T) == 2 ? Tolerance{1.0 / 64, 2e-6, 1.0 / 16} : Tolerance{1e-4, 2e-6, 1e-3});
  }
}

}  // namespace

void attention_tests() {
  finite_difference_tests();
  attention_tests_for<float>();
  attention_tests_for<bf16>();
}
