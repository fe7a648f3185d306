// The grouped GEMMs (kernels/gemm_grouped.cuh), the batched symmetric GEMM (gemm_batched.cuh) and
// Newton–Schulz (newton_schulz.cuh) on the emulator against float64 references: odd shapes, empty
// groups, one group, groups that are not a multiple of the 64-row tile, bf16 (cp.async and plain
// loads) and f32. Outputs start as NaN with a guard after them that must stay untouched; the
// grouped schedule runs on the device from the sizes, as in native/cuda/group_offsets.h.
#include <array>
#include <cstdio>
#include <cstring>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "../../native/cuda/kernels/gemm_batched.cuh"
#include "../../native/cuda/kernels/gemm_grouped.cuh"
#include "../../native/cuda/kernels/newton_schulz.cuh"
#include "report.h"
#include "values.h"

using namespace mt;
using namespace mt::test;
using kern::Plant;

namespace {

std::mt19937_64 rng(20261207 + 18);
constexpr int kGuard = 64;

// n random normal values (never 0) and kGuard more after them.
template <class T>
std::vector<T> random(size_t n) {
  std::normal_distribution<double> nd(0.0, 1.0);
  std::vector<T> v(n + kGuard);
  for (auto& x : v) {
    double r = nd(rng);
    x = narrow<T>(r == 0 ? 0.5 : r);
  }
  return v;
}
template <class T>
std::vector<T> nans(size_t n) { return std::vector<T>(n + kGuard, narrow<T>(NAN)); }
template <class T>
bool guard_intact(const std::vector<T>& v) {
  return std::all_of(v.end() - kGuard, v.end(), [](T x) { return std::isnan(wide(x)); });
}

// "" when out matches ref (bf16: output rounding 2^-8 relative; both: f32 accumulation), else what is wrong.
template <class T>
std::string verdict(const std::vector<T>& out, const std::vector<double>& ref, const std::vector<double>& scale, int64_t k) {
  const double rel = sizeof(T) == 2 ? 1.0 / 256 : 1e-6, acc = (sizeof(T) == 2 ? 1e-6 : 2e-7) * std::sqrt(double(k) + 1);
  const Check c = compare(out, ref, scale, rel, acc, [](T x) { return wide(x); });
  std::ostringstream s;
  if (c.bad || c.nan) s << c.bad << " elements off, " << c.nan << " NaN (unwritten), max error " << c.max_err;
  if (!guard_intact(out)) s << " writes past the output";
  return s.str();
}

// The device schedule from the sizes (group_offsets.h): offsets then tiles, groups + 1 each.
template <Plant P = Plant::None>
std::vector<int32_t> schedule(const std::vector<int32_t>& sizes) {
  const int E = int(sizes.size());
  std::vector<int32_t> s(size_t(2 * (E + 1)), -7);
  kern::group_schedule_dispatch([&](dev::Dim3 grid, dev::Dim3 block, size_t smem) {
    emu::launch("group_schedule", grid, block, smem, [&] { kern::group_schedule_body<P>(sizes.data(), E, s.data(), s.data() + E + 1); });
  });
  return s;
}

std::string sizes_str(const std::vector<int32_t>& sizes) {
  std::ostringstream s;
  if (sizes.size() > 8) {
    s << sizes.size() << " groups";
    return s.str();
  }
  s << "{";
  for (size_t i = 0; i < sizes.size(); ++i) s << (i ? "," : "") << sizes[i];
  s << "}";
  return s.str();
}

int64_t total(const std::vector<int32_t>& sizes) {
  int64_t t = 0;
  for (int32_t g : sizes) t += g;
  return t;
}

// ---------------------------------------------------------------- grouped matmul
struct GroupedCase {
  std::vector<int32_t> sizes;
  int K, N;
};

template <class T, Plant P = Plant::None>
std::string grouped_matmul_case(const GroupedCase& cs, bool tb, bool add, std::vector<T>* result = nullptr) {
  const int64_t rows = total(cs.sizes), E = int64_t(cs.sizes.size()), K = cs.K, N = cs.N;
  static std::vector<T> x, w, d, out;
  x = random<T>(size_t(rows * K)), w = random<T>(size_t(E * K * N)), d = random<T>(size_t(rows * N)), out = nans<T>(size_t(rows * N));
  std::vector<double> ref(size_t(rows * N)), scale(ref.size());
  int64_t row0 = 0;
  for (int64_t e = 0; e < E; ++e) {
    for (int64_t i = row0; i < row0 + cs.sizes[e]; ++i)
      for (int64_t j = 0; j < N; ++j) {
        double s = add ? wide(d[i * N + j]) : 0, a = std::fabs(s);
        for (int64_t k = 0; k < K; ++k) {
          const double p = wide(x[i * K + k]) * wide(w[e * K * N + (tb ? j * K + k : k * N + j)]);
          s += p, a += std::fabs(p);
        }
        ref[i * N + j] = s, scale[i * N + j] = a;
      }
    row0 += cs.sizes[e];
  }
  const std::vector<int32_t> sched = schedule<P>(cs.sizes);
  kern::GroupedGemmArgs<T> a;
  a.g.N = int(N), a.g.K = int(K), a.g.A = x.data(), a.g.lda = int(K), a.g.B = w.data(), a.g.ldb = int(tb ? K : N);
  a.g.C = out.data(), a.g.ldc = int(N);
  if (add) a.g.D = d.data(), a.g.ldd = int(N);
  a.stride_b = K * N, a.offsets = sched.data(), a.tiles = sched.data() + E + 1, a.groups = int(E);
  try {
    kern::grouped_matmul_dispatch(a, rows, tb, [&](auto TB, auto AL, dev::Dim3 grid, dev::Dim3 block, size_t smem, const kern::GroupedGemmArgs<T>& part) {
      emu::launch("grouped_matmul", grid, block, smem, [&] { kern::grouped_matmul_body<T, decltype(TB)::value, decltype(AL)::value, P>(part); });
    });
  } catch (const emu::Error& e) {
    return e.what();
  }
  if (result) *result = out;
  return verdict(out, ref, scale, K);
}

// ---------------------------------------------------------------- grouped weight gradient
template <class T, Plant P = Plant::None>
std::string weight_grad_case(const GroupedCase& cs, std::vector<T>* result = nullptr) {
  const int64_t rows = total(cs.sizes), E = int64_t(cs.sizes.size()), K = cs.K, N = cs.N;
  static std::vector<T> x, dy, out;
  x = random<T>(size_t(rows * K)), dy = random<T>(size_t(rows * N)), out = nans<T>(size_t(E * K * N));
  std::vector<double> ref(size_t(E * K * N)), scale(ref.size());
  int64_t row0 = 0;
  for (int64_t e = 0; e < E; ++e) {
    for (int64_t i = 0; i < K; ++i)
      for (int64_t j = 0; j < N; ++j) {
        double s = 0, a = 0;
        for (int64_t r = row0; r < row0 + cs.sizes[e]; ++r) {
          const double p = wide(x[r * K + i]) * wide(dy[r * N + j]);
          s += p, a += std::fabs(p);
        }
        ref[(e * K + i) * N + j] = s, scale[(e * K + i) * N + j] = a;
      }
    row0 += cs.sizes[e];
  }
  const std::vector<int32_t> sched = schedule(cs.sizes);
  kern::GroupedGemmArgs<T> a;
  a.g.M = int(K), a.g.N = int(N), a.g.A = x.data(), a.g.lda = int(K), a.g.B = dy.data(), a.g.ldb = int(N), a.g.C = out.data(), a.g.ldc = int(N);
  a.stride_c = K * N, a.offsets = sched.data(), a.groups = int(E);
  try {
    kern::grouped_weight_grad_dispatch(a, [&](auto AL, dev::Dim3 grid, dev::Dim3 block, size_t smem, const kern::GroupedGemmArgs<T>& part) {
      emu::launch("grouped_weight_grad", grid, block, smem, [&] { kern::grouped_weight_grad_body<T, decltype(AL)::value, P>(part); });
    });
  } catch (const emu::Error& e) {
    return e.what();
  }
  if (result) *result = out;
  int64_t kmax = 0;
  for (int32_t g : cs.sizes) kmax = std::max<int64_t>(kmax, g);
  return verdict(out, ref, scale, kmax);
}

std::vector<int32_t> many_groups(int E, int max_rows) {
  std::uniform_int_distribution<int> u(0, max_rows);
  std::vector<int32_t> s(size_t(E), 0);
  for (auto& g : s) g = u(rng);
  return s;
}

const std::vector<GroupedCase>& grouped_cases() {
  static const std::vector<GroupedCase> cases = {
      {{37}, 19, 53},                        // one group
      {{0, 5, 0, 64, 70, 0, 1}, 33, 71},     // empty groups (first, middle, last), a whole tile, tile + 6, 1 row
      {{130, 0, 3}, 40, 24},                 // 16-byte rows: the bf16 cp.async path
      {{2, 0, 3}, 0, 5},                     // K = 0: zeros (plus the addend)
      {many_groups(300, 3), 8, 9},           // more groups than the schedule's block (two scan chunks)
  };
  return cases;
}

}  // namespace

void grouped_tests() {
  // The triangle tile schedule against its definition.
  int bad = 0;
  for (int64_t r = 0, j = 0; r < 3000; ++r)
    for (int64_t c = 0; c <= r; ++c, ++j) {
      const kern::TileRc t = kern::tri_tile(j);
      bad += t.row != r || t.col != c;
    }
  report(bad == 0, "tri_tile maps j = r (r + 1) / 2 + c back to (r, c) for r < 3000" + (bad ? ": " + std::to_string(bad) + " wrong" : std::string()));

  for (const auto& sizes : {std::vector<int32_t>{0}, std::vector<int32_t>{5, 0, 64, 65, 0, 128, 1}, many_groups(600, 200)}) {
    const std::vector<int32_t> s = schedule(sizes);
    const int E = int(sizes.size());
    int64_t off = 0, tiles = 0;
    bool ok = true;
    for (int e = 0; e <= E; ++e) {
      ok = ok && s[size_t(e)] == off && s[size_t(E + 1 + e)] == tiles;
      if (e < E) off += sizes[size_t(e)], tiles += (sizes[size_t(e)] + 63) / 64;
    }
    report(ok, "group schedule (row and tile offsets) of " + sizes_str(sizes));
  }

  for (const GroupedCase& cs : grouped_cases())
    for (int f = 0; f < 4; ++f) {
      const bool tb = f & 1, add = f & 2;
      const auto name = [&](const char* t) {
        std::ostringstream s;
        s << "groupedMatmul " << t << " " << sizes_str(cs.sizes) << " K " << cs.K << " N " << cs.N << (tb ? " transB" : "") << (add ? " +add" : "");
        return s.str();
      };
      const std::string r = grouped_matmul_case<bf16>(cs, tb, add), r2 = grouped_matmul_case<float>(cs, tb, add);
      report(r.empty(), name("bf16") + (r.empty() ? "" : ": " + r));
      report(r2.empty(), name("f32") + (r2.empty() ? "" : ": " + r2));
    }
  for (const GroupedCase& cs : grouped_cases())
    if (cs.K > 0) {
      const std::string name = "groupedWeightGrad " + sizes_str(cs.sizes) + " K " + std::to_string(cs.K) + " N " + std::to_string(cs.N);
      const std::string r = weight_grad_case<bf16>(cs), r2 = weight_grad_case<float>(cs);
      report(r.empty(), name + " bf16" + (r.empty() ? "" : ": " + r));
      report(r2.empty(), name + " f32" + (r2.empty() ? "" : ": " + r2));
    }
  const std::string z = weight_grad_case<bf16>({{0, 0}, 7, 9});
  report(z.empty(), "groupedWeightGrad of no rows (every group empty) gives zeros" + (z.empty() ? "" : ": " + z));

  // Two runs give the same bits (the inputs are regenerated from the same seed).
  const auto twice = [](const char* what, auto run) {
    const auto saved = rng;
    const auto first = run();
    rng = saved;
    const auto second = run();
    report(first.size() == second.size() && std::memcmp(first.data(), second.data(), first.size() * sizeof(first[0])) == 0,
           std::string(what) + ": two runs give the same bits");
  };
  twice("groupedMatmul bf16", [] {
    std::vector<bf16> o;
    grouped_matmul_case<bf16>(grouped_cases()[1], false, true, &o);
    return o;
  });
  twice("groupedWeightGrad f32", [] {
    std::vector<float> o;
    weight_grad_case<float>(grouped_cases()[1], &o);
    return o;
  });
}

namespace {

// ---------------------------------------------------------------- the symmetric batched GEMM
// A = X·Xᵀ for `batch` matrices X (r x c): every element against float64, and A exactly symmetric.
template <class T, Plant P = Plant::None>
std::string gram_case(int64_t batch, int r, int c) {
  std::vector<T> x = random<T>(size_t(batch * r * c)), a = nans<T>(size_t(batch * r * r));
  std::vector<double> ref(a.size() - kGuard), scale(ref.size());
  for (int64_t q = 0; q < batch; ++q)
    for (int i = 0; i < r; ++i)
      for (int j = 0; j < r; ++j) {
        double s = 0, m = 0;
        for (int k = 0; k < c; ++k) {
          const double p = wide(x[size_t((q * r + i) * c + k)]) * wide(x[size_t((q * r + j) * c + k)]);
          s += p, m += std::fabs(p);
        }
        ref[size_t((q * r + i) * r + j)] = s, scale[size_t((q * r + i) * r + j)] = m;
      }
  kern::BatchedGemmArgs<T> g;
  g.g.M = r, g.g.N = r, g.g.K = c, g.g.A = x.data(), g.g.lda = c, g.g.B = x.data(), g.g.ldb = c, g.g.C = a.data(), g.g.ldc = r;
  g.stride_a = g.stride_b = int64_t(r) * c, g.stride_c = int64_t(r) * r;
  try {
    kern::batched_gemm_dispatch(g, batch, true, [&](auto S, auto AL, dev::Dim3 grid, dev::Dim3 block, size_t smem, const kern::BatchedGemmArgs<T>& part) {
      emu::launch("batched_gemm", grid, block, smem, [&] { kern::batched_gemm_body<T, decltype(S)::value, decltype(AL)::value, P>(part); });
    });
  } catch (const emu::Error& e) {
    return e.what();
  }
  std::string v = verdict(a, ref, scale, c);
  int64_t asym = 0;
  for (int64_t q = 0; q < batch; ++q)
    for (int i = 0; i < r; ++i)
      for (int j = 0; j < i; ++j) asym += std::memcmp(&a[size_t((q * r + i) * r + j)], &a[size_t((q * r + j) * r + i)], sizeof(T)) != 0;
  if (asym) v += " " + std::to_string(asym) + " pairs not mirrored";
  return v;
}

// ---------------------------------------------------------------- Newton–Schulz
// The emulator's launches for newton_schulz_launches (native/cuda/newton_schulz.cu has the GPU's).
template <Plant P>
struct EmuNs {
  template <class T>
  void norm(dev::Dim3 grid, dev::Dim3 block, size_t smem, const kern::NsNormArgs<T>& a) {
    emu::launch("ns_norm_partial", grid, block, smem, [&] { kern::ns_norm_partial_body(a); });
  }
  void scale(dev::Dim3 grid, dev::Dim3 block, size_t smem, const kern::NsScaleArgs& a) {
    emu::launch("ns_scale", grid, block, smem, [&] { kern::ns_scale_body(a); });
  }
  template <class T>
  void copy(dev::Dim3 grid, dev::Dim3 block, const kern::NsCopyArgs<T>& a) {
    emu::launch("ns_copy", grid, block, 0, [&] { kern::ns_copy_body(a); });
  }
  template <class T>
  void gemm(const kern::BatchedGemmArgs<T>& a, int64_t batch, bool sym) {
    kern::batched_gemm_dispatch(a, batch, sym, [&](auto S, auto AL, dev::Dim3 grid, dev::Dim3 block, size_t smem, const kern::BatchedGemmArgs<T>& part) {
      emu::launch("batched_gemm", grid, block, smem, [&] { kern::batched_gemm_body<T, decltype(S)::value, decltype(AL)::value, P>(part); });
    });
  }
};

using Coefficients = std::vector<std::array<float, 3>>;

// The CPU op's algorithm (native/cpu/newton_schulz.cc) in float64 for one m x n matrix.
std::vector<double> ns_ref(const std::vector<double>& in, int64_t m, int64_t n, const Coefficients& co, double eps) {
  const bool tr = m > n;
  const int64_t r = tr ? n : m, c = tr ? m : n;
  double ss = 0;
  for (double v : in) ss += v * v;
  const double denom = std::sqrt(ss) + eps, scale = denom > 0 ? 1 / denom : 0;
  std::vector<double> x(size_t(r * c)), a(size_t(r * r)), b(size_t(r * r)), nx(size_t(r * c));
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) x[size_t(tr ? j * m + i : i * n + j)] = in[size_t(i * n + j)] * scale;
  for (const auto& [ca, cb, cc] : co) {
    for (int64_t i = 0; i < r; ++i)
      for (int64_t j = 0; j < r; ++j) {
        double s = 0;
        for (int64_t k = 0; k < c; ++k) s += x[size_t(i * c + k)] * x[size_t(j * c + k)];
        a[size_t(i * r + j)] = s;
      }
    for (int64_t i = 0; i < r; ++i)
      for (int64_t j = 0; j < r; ++j) {
        double s = 0;
        for (int64_t k = 0; k < r; ++k) s += a[size_t(i * r + k)] * a[size_t(k * r + j)];
        b[size_t(i * r + j)] = cc * s + cb * a[size_t(i * r + j)];
      }
    for (int64_t i = 0; i < r; ++i)
      for (int64_t j = 0; j < c; ++j) {
        double s = 0;
        for (int64_t k = 0; k < r; ++k) s += b[size_t(i * r + k)] * x[size_t(k * c + j)];
        nx[size_t(i * c + j)] = s + ca * x[size_t(i * c + j)];
      }
    std::swap(x, nx);
  }
  std::vector<double> out(size_t(m * n));
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) out[size_t(i * n + j)] = x[size_t(tr ? j * m + i : i * n + j)];
  return out;
}

// Runs newton_schulz_launches on the emulator; the output (batch x m x n) with the guard after it.
template <class T, Plant P = Plant::None>
std::vector<T> ns_run(const std::vector<T>& in, int64_t batch, int64_t m, int64_t n, const Coefficients& co, float eps) {
  const bool tr = m > n;
  const int64_t r = tr ? n : m, c = tr ? m : n;
  std::vector<T> out = nans<T>(size_t(batch * m * n)), x0 = nans<T>(size_t(batch * r * c)), x1 = nans<T>(tr ? size_t(batch * r * c) : 0);
  std::vector<T> a = nans<T>(size_t(batch * r * r)), b = nans<T>(size_t(batch * r * r));
  std::vector<double> partial(size_t(batch * kern::ns_chunks(m, n)), NAN);
  std::vector<float> scale(size_t(batch), NAN);
  const kern::NsBuffers<T> w{x0.data(), x1.data(), a.data(), b.data(), partial.data(), scale.data()};
  kern::newton_schulz_launches(in.data(), out.data(), batch, m, n, eps, co.data(), int64_t(co.size()), w, EmuNs<P>{});
  return out;
}

// Relative Frobenius error of every matrix of the batch against ns_ref, as the CPU op tests
// measure it (test/helpers/util.ts NS_TOL: f32 1e-5, bf16 5e-2); "" when within tolerance.
template <class T, Plant P = Plant::None>
std::string ns_case(int64_t batch, int64_t m, int64_t n, const Coefficients& co, bool zero_matrix = false, std::vector<T>* result = nullptr) {
  const float eps = 1e-7f;
  std::vector<T> in = random<T>(size_t(batch * m * n));
  if (zero_matrix)
    for (int64_t i = 0; i < m * n; ++i) in[size_t(i)] = narrow<T>(0);  // matrix 0
  std::vector<T> out;
  try {
    out = ns_run<T, P>(in, batch, m, n, co, eps);
  } catch (const emu::Error& e) {
    return e.what();
  }
  if (result) *result = out;
  const double tol = sizeof(T) == 2 ? 5e-2 : 1e-5;
  std::ostringstream s;
  for (int64_t q = 0; q < batch; ++q) {
    std::vector<double> x(size_t(m * n));
    for (int64_t i = 0; i < m * n; ++i) x[size_t(i)] = wide(in[size_t(q * m * n + i)]);
    const std::vector<double> ref = ns_ref(x, m, n, co, eps);
    double num = 0, den = 0;
    for (int64_t i = 0; i < m * n; ++i) {
      const double d = wide(out[size_t(q * m * n + i)]) - ref[size_t(i)];
      num += d * d, den += ref[size_t(i)] * ref[size_t(i)];
    }
    const double err = den > 0 ? std::sqrt(num / den) : std::sqrt(num);
    if (!(err <= tol)) s << "matrix " << q << ": relative Frobenius error " << err << " > " << tol << "; ";
  }
  if (!guard_intact(out)) s << "writes past the output";
  return s.str();
}

const Coefficients kQuintic(5, {3.4445f, -4.7750f, 2.0315f});
// A per-step schedule: each step its own (a, b, c).
const Coefficients kPerStep = {{4.0848f, -6.8946f, 2.9270f}, {3.9505f, -6.3029f, 2.6377f}, {3.7418f, -5.5913f, 2.3037f},
                               {2.8769f, -3.1427f, 1.2046f}, {2.8366f, -3.0525f, 1.2012f}};

}  // namespace

void newton_schulz_tests() {
  struct Shape {
    int64_t batch;
    int r, c;
  };
  for (const Shape& s : {Shape{3, 65, 37}, Shape{2, 130, 97}, Shape{1, 1, 5}, Shape{2, 24, 40}, Shape{1, 64, 64}}) {
    const std::string name = "symmetric batched GEMM X·Xᵀ, " + std::to_string(s.batch) + " x " + std::to_string(s.r) + "x" + std::to_string(s.c);
    const std::string r = gram_case<bf16>(s.batch, s.r, s.c), r2 = gram_case<float>(s.batch, s.r, s.c);
    report(r.empty(), name + " bf16" + (s.c % 8 == 0 ? " (cp.async)" : "") + (r.empty() ? "" : ": " + r));
    report(r2.empty(), name + " f32" + (r2.empty() ? "" : ": " + r2));
  }
  struct NsShape {
    int64_t batch, m, n;
  };
  for (const NsShape& s : {NsShape{3, 37, 53}, NsShape{2, 53, 37}, NsShape{1, 1, 5}, NsShape{2, 5, 1}, NsShape{2, 65, 130}, NsShape{1, 24, 40},
                           NsShape{1, 70, 70}}) {
    const std::string shape = std::to_string(s.batch) + " x " + std::to_string(s.m) + "x" + std::to_string(s.n);
    const std::string r = ns_case<bf16>(s.batch, s.m, s.n, kQuintic), r2 = ns_case<float>(s.batch, s.m, s.n, kQuintic);
    report(r.empty(), "newtonSchulz bf16 " + shape + " vs float64" + (r.empty() ? "" : ": " + r));
    report(r2.empty(), "newtonSchulz f32 " + shape + " vs float64" + (r2.empty() ? "" : ": " + r2));
  }
  const std::string p1 = ns_case<float>(2, 33, 47, kPerStep), p2 = ns_case<bf16>(1, 47, 33, kPerStep);
  report(p1.empty(), "newtonSchulz f32 per-step coefficients vs float64" + (p1.empty() ? "" : ": " + p1));
  report(p2.empty(), "newtonSchulz bf16 per-step coefficients, transposed, vs float64" + (p2.empty() ? "" : ": " + p2));
  const std::string z0 = ns_case<float>(2, 9, 13, {}), z1 = ns_case<bf16>(2, 13, 9, {});
  report(z0.empty(), "newtonSchulz f32 with 0 steps is the normalised input" + (z0.empty() ? "" : ": " + z0));
  report(z1.empty(), "newtonSchulz bf16 with 0 steps, transposed, is the normalised input" + (z1.empty() ? "" : ": " + z1));
  std::vector<float> zo;
  const std::string zm = ns_case<float>(3, 17, 29, kQuintic, true, &zo);
  const bool zeros = std::all_of(zo.begin(), zo.begin() + 17 * 29, [](float v) { return v == 0.f; });
  report(zm.empty() && zeros, "newtonSchulz f32: a zero matrix in a batch gives zeros, the others match float64" + (zm.empty() ? "" : ": " + zm));

  const auto saved = rng;
  std::vector<bf16> o1, o2;
  ns_case<bf16>(2, 37, 70, kQuintic, false, &o1);
  rng = saved;
  ns_case<bf16>(2, 37, 70, kQuintic, false, &o2);
  report(o1.size() == o2.size() && std::memcmp(o1.data(), o2.data(), o1.size() * sizeof(bf16)) == 0, "newtonSchulz bf16: two runs give the same bits");
}

void grouped_planted_tests() {
  const auto caught = [](const char* bug, const std::string& r) {
    report(!r.empty(), std::string("planted ") + bug + (r.empty() ? ": NOT caught" : ": caught (" + r + ")"));
  };
  const GroupedCase edges{{0, 5, 0, 64, 70, 0, 1}, 33, 71};
  caught("grouped schedule counting a group's row tiles rounded down (bf16)", grouped_matmul_case<bf16, Plant::GroupTiles>(edges, false, false));
  caught("grouped schedule counting a group's row tiles rounded down (f32)", grouped_matmul_case<float, Plant::GroupTiles>(edges, true, true));
  caught("weight gradient reading one row past its group (bf16)", weight_grad_case<bf16, Plant::GroupEdge>(edges));
  caught("weight gradient reading one row past its group (f32)", weight_grad_case<float, Plant::GroupEdge>({{130, 0, 3}, 40, 24}));
  caught("symmetric GEMM not mirroring the lower triangle (bf16)", gram_case<bf16, Plant::MirrorSkip>(2, 65, 37));
  caught("symmetric GEMM not mirroring the lower triangle (f32)", gram_case<float, Plant::MirrorSkip>(1, 130, 97));
  caught("newtonSchulz on a symmetric GEMM that does not mirror (bf16)", ns_case<bf16, Plant::MirrorSkip>(2, 37, 53, kQuintic));
}
