// The SIMT kernels (native/cuda/kernels/*.cuh other than the GEMMs) on the emulator against
// float64 references: random inputs, sizes that are not multiples of the block, f32 and bf16.
// Every output starts as NaN (an element never written fails), and every case runs twice and
// must give the same bits.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "../../native/cuda/kernels/cross_entropy.cuh"
#include "../../native/cuda/kernels/elementwise.cuh"
#include "../../native/cuda/kernels/embedding.cuh"
#include "../../native/cuda/kernels/optim.cuh"
#include "../../native/cuda/kernels/rms_norm.cuh"
#include "../../native/cuda/kernels/rope.cuh"
#include "../../native/cuda/kernels/swiglu.cuh"
#include "report.h"
#include "values.h"

using namespace mt;
using namespace mt::test;
using kern::Elementwise;
using kern::RowBlock;

namespace {

std::mt19937_64 rng(20261201);
// Relative tolerance of a result stored in T and computed in float.
template <class T>
double tol() { return sizeof(T) == 2 ? 1.0 / 128 : 2e-6; }

template <class T>
std::vector<T> random(size_t n, double lo = -2, double hi = 2) {
  std::uniform_real_distribution<double> u(lo, hi);
  std::vector<T> v(n);
  for (auto& x : v) x = narrow<T>(u(rng));
  return v;
}
template <class T>
std::vector<T> nans(size_t n) { return std::vector<T>(n, narrow<T>(NAN)); }
template <class T>
std::vector<double> widen_all(const std::vector<T>& v) {
  std::vector<double> r(v.size());
  for (size_t i = 0; i < v.size(); ++i) r[i] = wide(v[i]);
  return r;
}
template <class T>
void append(std::vector<double>& out, const std::vector<T>& v) {
  for (const T& x : v) out.push_back(wide(x));
}

// |got - ref| <= tol (|ref| + floor) for every element (NaN fails).
bool close(const std::string& what, const std::vector<double>& got, const std::vector<double>& ref, double tol, double floor = 1.0) {
  if (got.size() != ref.size()) {
    report(false, what + ": " + std::to_string(got.size()) + " values, expected " + std::to_string(ref.size()));
    return false;
  }
  double worst = 0;
  size_t at = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double e = std::fabs(got[i] - ref[i]) / (std::fabs(ref[i]) + floor);
    if (!(e <= worst)) {
      worst = std::isnan(e) ? INFINITY : e;
      at = i;
    }
  }
  char buf[160];
  std::snprintf(buf, sizeof buf, ": max relative error %.3g (tolerance %.3g)", worst, tol);
  const bool ok = worst <= tol;
  report(ok, what + buf + (ok ? "" : " at " + std::to_string(at) + ": got " + std::to_string(got[at]) + ", expected " + std::to_string(ref[at])));
  return ok;
}

// Runs the case twice (each run returns all its outputs widened to double, which keeps their
// bits) and checks the two runs agree bit for bit; returns the first run's outputs. An emulator
// error fails the case.
bool twice(const std::string& what, const std::function<std::vector<double>()>& run, std::vector<double>* out) {
  try {
    const std::vector<double> a = run(), b = run();
    const bool same = a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0;
    if (!same) report(false, what + ": two runs differ");
    *out = a;
    return same;
  } catch (const std::exception& e) {
    report(false, what + ": " + e.what());
    return false;
  }
}

template <class Body>
void launch(const char* name, dev::Dim3 grid, dev::Dim3 block, size_t smem, Body body) {
  emu::launch(name, grid, block, smem, body);
}
template <class Body>
void launch_elementwise(const char* name, int64_t n, Body body) {
  launch(name, Elementwise::grid(n), Elementwise::block(), 0, body);
}

// ---------------------------------------------------------------- elementwise
template <class T>
void map_tests() {
  const size_t n = 1237;
  const auto a = random<T>(n), b = random<T>(n);
  const std::string ty = tname<T>();
  std::vector<double> got, ref(n);
  const float alpha = -0.7f, s = 1.3f;

  const auto add = [&](dev::Dim3 grid) {
    return [&, grid] {
      auto out = nans<T>(n);
      kern::MapArgs<T, T> p{a.data(), b.data(), out.data(), int64_t(n), alpha};
      launch("map_add", grid, Elementwise::block(), 0, [&] { kern::map_body<kern::MapOp::Add>(p); });
      return widen_all(out);
    };
  };
  for (size_t i = 0; i < n; ++i) ref[i] = wide(a[i]) + double(alpha) * wide(b[i]);
  if (twice("add " + ty, add(Elementwise::grid(n)), &got)) close("add " + ty + " (1237 elements)", got, ref, tol<T>());
  if (twice("add " + ty + " on 2 blocks", add(dev::Dim3{2, 1, 1}), &got)) close("add " + ty + " on 2 blocks (the grid-stride loop)", got, ref, tol<T>());

  for (size_t i = 0; i < n; ++i) ref[i] = double(s) * wide(a[i]);
  if (twice("scale " + ty, [&] {
        auto out = nans<T>(n);
        kern::MapArgs<T, T> p{a.data(), nullptr, out.data(), int64_t(n), s};
        launch_elementwise("map_scale", int64_t(n), [&] { kern::map_body<kern::MapOp::Scale>(p); });
        return widen_all(out);
      }, &got))
    close("scale " + ty, got, ref, tol<T>());
  if (twice("scaleInPlace " + ty, [&] {
        auto t = a;
        kern::MapArgs<T, T> p{t.data(), nullptr, t.data(), int64_t(n), s};
        launch_elementwise("map_scale", int64_t(n), [&] { kern::map_body<kern::MapOp::Scale>(p); });
        return widen_all(t);
      }, &got))
    close("scaleInPlace " + ty, got, ref, tol<T>());

  // copy / assign to each dtype: exact for the same dtype and bf16 -> f32, rounded for f32 -> bf16.
  const auto copy_to = [&](auto zero) {
    using O = decltype(zero);
    for (size_t i = 0; i < n; ++i) ref[i] = wide(narrow<O>(wide(a[i])));
    if (twice(std::string("copy ") + ty + " -> " + tname<O>(), [&] {
          auto out = nans<O>(n);
          kern::MapArgs<T, O> p{a.data(), nullptr, out.data(), int64_t(n), 0};
          launch_elementwise("map_copy", int64_t(n), [&] { kern::map_body<kern::MapOp::Copy>(p); });
          return widen_all(out);
        }, &got))
      close(std::string("copy / assign ") + ty + " -> " + tname<O>() + " (exactly the rounded value)", got, ref, 0.0);
  };
  copy_to(float{});
  copy_to(bf16{});
}

// split and concat along each axis of a [3,5,7] tensor: the parts' bits.
template <class T>
void split_concat_tests() {
  const int64_t shape[3] = {3, 5, 7};
  const auto x = random<T>(105);
  using E = std::conditional_t<sizeof(T) == 2, uint16_t, uint32_t>;
  for (int axis = 0; axis < 3; ++axis) {
    const std::vector<int64_t> sizes = axis == 0 ? std::vector<int64_t>{1, 0, 2} : axis == 1 ? std::vector<int64_t>{2, 3} : std::vector<int64_t>{3, 1, 3};
    const kern::AxisView v = kern::axis_view(shape, 3, axis);
    std::vector<double> got, ref;
    // Reference: element (i0, i1, i2) of x goes to the part holding index i_axis.
    for (size_t p = 0, start = 0; p < sizes.size(); start += size_t(sizes[p]), ++p)
      for (int64_t i0 = 0; i0 < shape[0]; ++i0)
        for (int64_t i1 = 0; i1 < shape[1]; ++i1)
          for (int64_t i2 = 0; i2 < shape[2]; ++i2) {
            const int64_t idx[3] = {i0, i1, i2};
            if (idx[axis] >= int64_t(start) && idx[axis] < int64_t(start) + sizes[p]) ref.push_back(wide(x[size_t((i0 * 5 + i1) * 7 + i2)]));
          }
    const std::string what = std::string("split ") + tname<T>() + " [3,5,7] along axis " + std::to_string(axis);
    if (twice(what, [&] {
          std::vector<double> out;
          int64_t c0 = 0;
          for (int64_t s : sizes) {
            auto part = nans<T>(size_t(v.rows * s * v.inner));
            kern::CopyRowsArgs<E> p{reinterpret_cast<const E*>(x.data()), reinterpret_cast<E*>(part.data()), v.rows, s * v.inner, v.cols, c0, s * v.inner, 0};
            launch_elementwise("copy_rows", p.rows * p.width, [&] { kern::copy_rows_body(p); });
            c0 += s * v.inner;
            append(out, part);
          }
          return out;
        }, &got))
      close(what, got, ref, 0.0);
    // concat of the parts along the same axis gives x back.
    const std::string cwhat = std::string("concat ") + tname<T>() + " along axis " + std::to_string(axis) + " of the split parts";
    if (twice(cwhat, [&] {
          auto out = nans<T>(x.size());
          size_t at = 0;
          int64_t c0 = 0;
          for (int64_t s : sizes) {
            std::vector<T> part(size_t(v.rows * s * v.inner));
            for (auto& e : part) e = narrow<T>(ref[at++]);
            kern::CopyRowsArgs<E> p{reinterpret_cast<const E*>(part.data()), reinterpret_cast<E*>(out.data()), v.rows, s * v.inner, s * v.inner, 0, v.cols, c0};
            launch_elementwise("copy_rows", p.rows * p.width, [&] { kern::copy_rows_body(p); });
            c0 += s * v.inner;
          }
          return widen_all(out);
        }, &got))
      close(cwhat, got, widen_all(x), 0.0);
  }
}

template <class T>
void sum_squares_tests() {
  for (const size_t n : {size_t(5), size_t(9001)}) {
    const auto x = random<T>(n);
    double ref = 0;
    for (const T& v : x) ref += wide(v) * wide(v);
    std::vector<double> got;
    const std::string what = std::string("sumSquares ") + tname<T>() + " of " + std::to_string(n) + " elements";
    if (twice(what, [&] {
          const unsigned blocks = kern::SumSquares::blocks(int64_t(n));
          std::vector<double> partial(blocks, NAN), total(1, NAN);
          const dev::Dim3 block{kern::SumSquares::kThreads, 1, 1};
          launch("sum_squares_partial", dev::Dim3{blocks, 1, 1}, block, kern::SumSquares::kSmemBytes,
                 [&] { kern::sum_squares_partial_body(x.data(), int64_t(n), partial.data()); });
          launch("sum_partials", dev::Dim3{1, 1, 1}, block, kern::SumSquares::kSmemBytes, [&] { kern::sum_partials_body(partial.data(), blocks, total.data()); });
          return total;
        }, &got))
      close(what + " (" + std::to_string(kern::SumSquares::blocks(int64_t(n))) + " blocks)", got, {ref}, 1e-12, 0.0);
  }
}

// ---------------------------------------------------------------- optimizers
template <class G>
void optim_tests() {
  const size_t n = 1001;
  const auto p0 = random<float>(n), m0 = random<float>(n, -0.1, 0.1), v0 = random<float>(n, 0, 0.01);
  const auto g = random<G>(n);
  const std::string ty = tname<G>();
  std::vector<double> got, ref;

  const double lr = 3e-3, b1 = 0.9, b2 = 0.95, eps = 1e-8, wd = 0.1;
  const int64_t step = 7;
  const double bc1 = 1 - std::pow(b1, double(step)), bc2 = 1 - std::pow(b2, double(step));
  ref.clear();
  std::vector<double> rm(n), rv(n);
  for (size_t i = 0; i < n; ++i) {
    rm[i] = b1 * m0[i] + (1 - b1) * wide(g[i]);
    rv[i] = b2 * v0[i] + (1 - b2) * wide(g[i]) * wide(g[i]);
    ref.push_back(p0[i] * (1 - lr * wd) - lr * (rm[i] / bc1) / (std::sqrt(rv[i] / bc2) + eps));
  }
  ref.insert(ref.end(), rm.begin(), rm.end());
  ref.insert(ref.end(), rv.begin(), rv.end());
  if (twice("adamwStep grad " + ty, [&] {
        auto p = p0, m = m0, v = v0;
        kern::AdamWArgs<G> a;
        a.p = p.data(), a.m = m.data(), a.v = v.data(), a.g = g.data(), a.n = int64_t(n);
        a.decay = float(1 - lr * wd), a.b1 = float(b1), a.b2 = float(b2), a.c1 = float(1 - b1), a.c2 = float(1 - b2);
        a.inv_bc1 = float(1 / bc1), a.inv_bc2 = float(1 / bc2), a.lr = float(lr), a.eps = float(eps);
        launch_elementwise("adamw", int64_t(n), [&] { kern::adamw_body(a); });
        std::vector<double> out = widen_all(p);
        append(out, m);
        append(out, v);
        return out;
      }, &got))
    close("adamwStep grad " + ty + " (param, m, v)", got, ref, 2e-6);

  for (const bool nesterov : {true, false}) {
    const double mu = 0.95;
    ref.clear();
    std::vector<double> rm2(n);
    for (size_t i = 0; i < n; ++i) {
      rm2[i] = mu * m0[i] + wide(g[i]);
      ref.push_back(nesterov ? wide(g[i]) + mu * rm2[i] : rm2[i]);
    }
    ref.insert(ref.end(), rm2.begin(), rm2.end());
    const std::string what = "muonMomentum grad " + ty + (nesterov ? " nesterov" : " plain");
    if (twice(what, [&] {
          auto m = m0;
          auto u = nans<float>(n);
          kern::MuonMomentumArgs<G> a;
          a.m = m.data(), a.u = u.data(), a.g = g.data(), a.n = int64_t(n), a.mu = float(mu), a.nesterov = nesterov;
          launch_elementwise("muon_momentum", int64_t(n), [&] { kern::muon_momentum_body(a); });
          std::vector<double> out = widen_all(u);
          append(out, m);
          return out;
        }, &got))
      close(what + " (update, m)", got, ref, 2e-6);
  }

  const double mlr = 0.02, mwd = 0.1, mscale = 0.4;
  ref.clear();
  for (size_t i = 0; i < n; ++i) ref.push_back(p0[i] * (1 - mlr * mwd) - mlr * mscale * wide(g[i]));
  if (twice("muonApply update " + ty, [&] {
        auto p = p0;
        kern::MuonApplyArgs<G> a;
        a.p = p.data(), a.u = g.data(), a.n = int64_t(n), a.decay = float(1 - mlr * mwd), a.step = float(mlr * mscale);
        launch_elementwise("muon_apply", int64_t(n), [&] { kern::muon_apply_body(a); });
        return widen_all(p);
      }, &got))
    close("muonApply update " + ty, got, ref, 2e-6);
}

// ---------------------------------------------------------------- nn ops
template <class T>
void swiglu_tests() {
  const size_t n = 1003;
  const auto gate = random<T>(n, -4, 4), up = random<T>(n), dy = random<T>(n);
  const std::string ty = tname<T>();
  std::vector<double> got, ref(n), rg, ru;
  for (size_t i = 0; i < n; ++i) {
    const double g = wide(gate[i]), u = wide(up[i]), d = wide(dy[i]), s = 1 / (1 + std::exp(-g));
    ref[i] = g * s * u;
    rg.push_back(d * u * s * (1 + g * (1 - s)));
    ru.push_back(d * g * s);
  }
  if (twice("swiglu " + ty, [&] {
        auto y = nans<T>(n);
        kern::SwigluArgs<T> a;
        a.gate = gate.data(), a.up = up.data(), a.y = y.data(), a.n = int64_t(n);
        launch_elementwise("swiglu", int64_t(n), [&] { kern::swiglu_body(a); });
        return widen_all(y);
      }, &got))
    close("swiglu " + ty, got, ref, tol<T>());
  rg.insert(rg.end(), ru.begin(), ru.end());
  if (twice("swigluBackward " + ty, [&] {
        auto dg = nans<T>(n), du = nans<T>(n);
        kern::SwigluArgs<T> a;
        a.gate = gate.data(), a.up = up.data(), a.dy = dy.data(), a.dgate = dg.data(), a.dup = du.data(), a.n = int64_t(n);
        launch_elementwise("swiglu_backward", int64_t(n), [&] { kern::swiglu_backward_body(a); });
        std::vector<double> out = widen_all(dg);
        append(out, du);
        return out;
      }, &got))
    close("swigluBackward " + ty + " (dgate, dup)", got, rg, tol<T>());
}

template <class T>
void rms_norm_tests() {
  for (const int64_t D : {int64_t(1), int64_t(37), int64_t(300)}) {
    const int64_t rows = 5;
    const double eps = 1e-6;
    const auto x = random<T>(size_t(rows * D)), w = random<T>(size_t(D), 0.5, 1.5), dy = random<T>(size_t(rows * D));
    const std::string what = std::string("rmsNorm ") + tname<T>() + " [5," + std::to_string(D) + "]";
    std::vector<double> ry, rrs, rdx, rdw(size_t(D), 0.0);
    for (int64_t t = 0; t < rows; ++t) {
      double ss = 0, dot = 0;
      for (int64_t j = 0; j < D; ++j) ss += wide(x[t * D + j]) * wide(x[t * D + j]);
      const double r = 1 / std::sqrt(ss / double(D) + eps);
      rrs.push_back(r);
      for (int64_t j = 0; j < D; ++j) {
        ry.push_back(wide(x[t * D + j]) * r * wide(w[j]));
        dot += wide(dy[t * D + j]) * wide(w[j]) * wide(x[t * D + j]);
        rdw[j] += wide(dy[t * D + j]) * wide(x[t * D + j]) * r;
      }
      for (int64_t j = 0; j < D; ++j) rdx.push_back(r * wide(dy[t * D + j]) * wide(w[j]) - r * r * r * dot / double(D) * wide(x[t * D + j]));
    }
    std::vector<double> got, ref = ry;
    ref.insert(ref.end(), rrs.begin(), rrs.end());
    std::vector<float> rstd(static_cast<size_t>(rows));
    const auto geometry = [&](const char* name, auto body) { launch(name, dev::Dim3{unsigned(rows), 1, 1}, RowBlock::block(), RowBlock::kSmemBytes, body); };
    if (twice(what, [&] {
          auto y = nans<T>(size_t(rows * D));
          rstd = nans<float>(size_t(rows));
          kern::RmsNormArgs<T> a;
          a.x = x.data(), a.w = w.data(), a.y = y.data(), a.rstd = rstd.data(), a.rows = rows, a.D = D, a.eps = eps;
          geometry("rms_norm", [&] { kern::rms_norm_body(a); });
          std::vector<double> out = widen_all(y);
          append(out, rstd);
          return out;
        }, &got))
      close(what + " (y, rstd)", got, ref, tol<T>());
    // The backward from the kernel's own rstd (the reference's differs from it by float rounding).
    ref = rdx;
    ref.insert(ref.end(), rdw.begin(), rdw.end());
    if (twice(what + " backward", [&] {
          auto dx = nans<T>(size_t(rows * D)), dw = nans<T>(size_t(D));
          kern::RmsNormArgs<T> a;
          a.x = x.data(), a.w = w.data(), a.dy = dy.data(), a.dx = dx.data(), a.dw = dw.data(), a.rstd = rstd.data(), a.rows = rows, a.D = D;
          geometry("rms_norm_backward_dx", [&] { kern::rms_norm_backward_dx_body(a); });
          launch_elementwise("rms_norm_backward_dw", D, [&] { kern::rms_norm_backward_dw_body(a); });
          std::vector<double> out = widen_all(dx);
          append(out, dw);
          return out;
        }, &got))
      close(what + " backward (dx, dweight)", got, ref, sizeof(T) == 2 ? tol<T>() : 2e-5);
  }
}

template <class T>
void rope_tests() {
  const int64_t tokens = 3, heads = 2, d = 10;
  const auto x = random<T>(size_t(tokens * heads * d));
  const std::vector<int32_t> positions = {17, 0, 49};
  for (const bool interleave : {true, false})
    for (const int64_t rope_dim : {int64_t(0), int64_t(6)})
      for (const bool inverse : {false, true}) {
        const int64_t r = rope_dim > 0 ? rope_dim : d, half = r / 2, first = d - r;
        const double theta = 10000, sign = inverse ? -1 : 1;
        std::vector<double> ref = widen_all(x);
        for (int64_t t = 0; t < tokens; ++t)
          for (int64_t h = 0; h < heads; ++h)
            for (int64_t i = 0; i < half; ++i) {
              const int64_t row = (t * heads + h) * d;
              const int64_t ia = row + first + (interleave ? 2 * i : i), ib = row + first + (interleave ? 2 * i + 1 : i + half);
              const double ang = positions[size_t(t)] * std::pow(theta, -2.0 * double(i) / double(r));
              const double c = std::cos(ang), s = sign * std::sin(ang), a = wide(x[size_t(ia)]), b = wide(x[size_t(ib)]);
              ref[size_t(ia)] = a * c - b * s;
              ref[size_t(ib)] = a * s + b * c;
            }
        const std::string what = std::string("rope ") + tname<T>() + " [3,2,10] interleave " + (interleave ? "true" : "false") + " ropeDim " +
                                 std::to_string(rope_dim) + (inverse ? " inverse" : "");
        std::vector<double> got;
        if (twice(what, [&] {
              auto out = nans<T>(x.size());
              kern::RopeArgs<T> a;
              const std::vector<float> table = kern::rope_table(positions, r, theta, sign);
              a.x = x.data(), a.out = out.data(), a.table = table.data(), a.tokens = tokens, a.heads = heads, a.d = d, a.r = r, a.interleave = interleave;
              launch_elementwise("rope", int64_t(x.size()), [&] { kern::rope_body(a); });
              return widen_all(out);
            }, &got))
          close(what, got, ref, tol<T>());
      }
}

template <class T>
void embedding_tests() {
  const int64_t V = 7, D = 33, tokens = 20;
  const auto w = random<T>(size_t(V * D)), dy = random<T>(size_t(tokens * D));
  std::vector<int32_t> ids(static_cast<size_t>(tokens));
  for (auto& id : ids) id = int32_t(rng() % 6);  // row 6 gets no token: its gradient is zero
  std::vector<double> got, ref, rdw(size_t(V * D), 0.0);
  for (int64_t t = 0; t < tokens; ++t)
    for (int64_t j = 0; j < D; ++j) {
      ref.push_back(wide(w[size_t(ids[size_t(t)] * D + j)]));
      rdw[size_t(ids[size_t(t)] * D + j)] += wide(dy[size_t(t * D + j)]);
    }
  const std::string ty = tname<T>();
  if (twice("embedding " + ty, [&] {
        auto out = nans<T>(size_t(tokens * D));
        kern::EmbeddingArgs<T> a;
        a.weight = w.data(), a.out = out.data(), a.ids = ids.data(), a.rows = tokens, a.D = D;
        launch_elementwise("embedding", tokens * D, [&] { kern::embedding_body(a); });
        return widen_all(out);
      }, &got))
    close("embedding " + ty + " (the weight's rows, exactly)", got, ref, 0.0);
  if (twice("embeddingBackward " + ty, [&] {
        const kern::EmbeddingBuckets b = kern::embedding_buckets(ids, V);
        auto dw = nans<T>(size_t(V * D));
        kern::EmbeddingArgs<T> a;
        a.dy = dy.data(), a.out = dw.data(), a.start = b.start.data(), a.tokens = b.tokens.data(), a.rows = V, a.D = D;
        launch_elementwise("embedding_backward", V * D, [&] { kern::embedding_backward_body(a); });
        return widen_all(dw);
      }, &got))
    close("embeddingBackward " + ty + " (7 rows, one without tokens)", got, rdw, tol<T>());
}

template <class T>
void cross_entropy_tests() {
  const int64_t rows = 4, V = 300;
  const auto logits = random<T>(size_t(rows * V), -6, 6);
  const std::vector<int32_t> targets = {5, -1, 299, 0};
  int64_t count = 0;
  std::vector<double> rlse, rgrad;
  double rloss = 0;
  for (int64_t t = 0; t < rows; ++t) {
    double m = -INFINITY, s = 0;
    for (int64_t j = 0; j < V; ++j) m = std::max(m, wide(logits[size_t(t * V + j)]));
    for (int64_t j = 0; j < V; ++j) s += std::exp(wide(logits[size_t(t * V + j)]) - m);
    rlse.push_back(m + std::log(s));
    if (targets[size_t(t)] >= 0) {
      rloss += rlse.back() - wide(logits[size_t(t * V + targets[size_t(t)])]);
      ++count;
    }
  }
  rloss /= double(count);
  const double scale = 1.0 / double(count);
  for (int64_t t = 0; t < rows; ++t)
    for (int64_t j = 0; j < V; ++j)
      rgrad.push_back(targets[size_t(t)] < 0 ? 0.0 : scale * (std::exp(wide(logits[size_t(t * V + j)]) - rlse[size_t(t)]) - (j == targets[size_t(t)] ? 1 : 0)));
  const std::string ty = tname<T>();
  for (const bool in_place : {true, false}) {
    std::vector<double> got, ref = {rloss};
    ref.insert(ref.end(), rlse.begin(), rlse.end());
    ref.insert(ref.end(), rgrad.begin(), rgrad.end());
    const std::string what = "crossEntropy " + ty + " [4,300]" + (in_place ? " with the gradient in place" : ", then crossEntropyBackward");
    if (twice(what, [&] {
          auto l = logits;
          auto grad = in_place ? std::vector<T>() : nans<T>(l.size());
          std::vector<float> lse = nans<float>(size_t(rows));
          std::vector<double> row_loss(size_t(rows), NAN);
          kern::CrossEntropyArgs<T> a;
          a.logits = l.data(), a.grad = in_place ? l.data() : grad.data(), a.targets = targets.data(), a.lse = lse.data(), a.row_loss = row_loss.data();
          a.rows = rows, a.V = V, a.scale = float(scale);
          launch("cross_entropy", dev::Dim3{unsigned(rows), 1, 1}, RowBlock::block(), RowBlock::kSmemBytes, [&] { kern::cross_entropy_body(a); });
          launch_elementwise("cross_entropy_grad", rows * V, [&] { kern::cross_entropy_grad_body(a); });
          int64_t c = 0;
          std::vector<double> out = {kern::mean_loss(row_loss, targets, &c)};
          append(out, lse);
          append(out, in_place ? l : grad);
          return out;
        }, &got))
      close(what + " (loss, lse, gradient)", got, ref, sizeof(T) == 2 ? tol<T>() : 1e-5, 1e-2);
  }
}

template <class T>
void all_for() {
  map_tests<T>();
  split_concat_tests<T>();
  sum_squares_tests<T>();
  optim_tests<T>();
  swiglu_tests<T>();
  rms_norm_tests<T>();
  rope_tests<T>();
  embedding_tests<T>();
  cross_entropy_tests<T>();
}

}  // namespace

void simt_tests() {
  all_for<float>();
  all_for<bf16>();
}
