// Tests of the CUDA kernels on the CPU emulator, and of the emulator itself. Built with g++ by
// test/cuda/CMakeLists.txt and run by test/cuda/emulator.test.ts; one group per argument:
//   emulator   the emulator's own checks (barriers, races, cp.async) on small kernels, clean and buggy
//   gemm       bf16 (mma.sync) and f32 (FFMA) GEMMs against float64, odd shapes, both transposes, add
//   planted    bugs planted in the bf16 GEMM (fragment index, missing barrier, tile edge), the grouped
//              GEMMs (schedule, group edge) and the symmetric GEMM (no mirror) must be caught
//   simt       the SIMT kernels (elementwise, reductions, optimizers, nn ops) against float64
//   moe        the MoE kernels (route, permute, unpermute, balance loss, backwards) against float64
//   attention  the attention kernels against float64, and the float64 backward against finite differences
//   grouped    the grouped GEMMs (device schedule, empty groups, tile edges) against float64
//   newton-schulz  the symmetric batched GEMM and batched Newton–Schulz against float64
//   probes     the probe kernels on the emulator against test/fixtures/cuda-probes.json (when present)
//   write-probes FILE   writes the emulator's probe results as JSON (the device run's dry run)
//   tma        tma_layout.h's reading of TMA box loads, checked on its own and against
//              test/fixtures/cuda-probes-tma.json (when present)
//   write-tma FILE      writes that reading as the TMA probe's JSON (the device run's dry run)
// Prints one line per check ("ok - ..." / "not ok - ..."); exits 1 if any failed.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "../../native/cuda/kernels/gemm_bf16.cuh"
#include "../../native/cuda/kernels/gemm_f32.cuh"
#include "../../native/cuda/probes/probe_json.h"
#include "../../native/cuda/probes/probes.cuh"
#include "report.h"

using namespace mt;

namespace {
int failures = 0;
}  // namespace

void report(bool ok, const std::string& what) {
  std::printf("%s - %s\n", ok ? "ok" : "not ok", what.c_str());
  std::fflush(stdout);
  if (!ok) ++failures;
}

namespace {

// Runs a launch expected to throw emu::Error whose message contains every one of `needles`.
template <class F>
void expect_error(const std::string& what, F&& run, std::initializer_list<const char*> needles) {
  try {
    run();
    report(false, what + ": no error reported");
  } catch (const emu::Error& e) {
    bool all = true;
    for (const char* n : needles) all = all && std::strstr(e.what(), n) != nullptr;
    report(all, what + ": " + e.what());
  }
}

template <class F>
void expect_clean(const std::string& what, F&& run) {
  try {
    run();
    report(true, what);
  } catch (const emu::Error& e) {
    report(false, what + ": " + e.what());
  }
}

// ---------------------------------------------------------------- the emulator's own checks
void emulator_tests() {
  const dev::Dim3 one{1, 1, 1}, b128{128, 1, 1};

  expect_clean("a barrier every thread reaches", [&] {
    emu::launch("all_reach", one, b128, 512, [] {
      const int t = int(dev::thread_rank());
      const auto s = dev::shared_at<int>(0);
      s.st(t, t);
      dev::sync_block();
      if (s.ld((t + 1) % 128) != (t + 1) % 128) throw emu::Error("wrong value");
    });
  });
  expect_error("a barrier inside a branch some threads skip", [&] {
    emu::launch("half_barrier", one, b128, 0, [] {
      if (dev::thread_rank() < 64) dev::sync_block();
    });
  }, {"kernel half_barrier", "barrier not reached by every thread"});
  expect_error("two different barriers for two halves of the block", [&] {
    emu::launch("split_barrier", one, b128, 0, [] {
      if (dev::thread_rank() < 64) dev::sync_block();
      else dev::sync_block();
    });
  }, {"kernel split_barrier", "another sync_block"});
  expect_error("a shared-memory read racing a write (no barrier)", [&] {
    emu::launch("no_barrier", one, b128, 512, [] {
      const int t = int(dev::thread_rank());
      const auto s = dev::shared_at<int>(0);
      s.st(t, t);
      (void)s.ld((t + 1) % 128);
    });
  }, {"kernel no_barrier", "shared-memory race", "thread 0", "thread 1"});
  expect_error("a write racing an earlier read (no barrier)", [&] {
    emu::launch("war", one, b128, 512, [] {
      const int t = int(dev::thread_rank());
      const auto s = dev::shared_at<int>(0);
      s.st(t, t);
      dev::sync_block();
      (void)s.ld((t + 1) % 128);
      s.st(t, -t);
    });
  }, {"kernel war", "write after read"});
  expect_clean("sync_warp orders the shared-memory accesses of a warp's lanes", [&] {
    emu::launch("warp_local", one, b128, 512, [] {
      const int t = int(dev::thread_rank());
      const auto s = dev::shared_at<int>(0);
      s.st(t, t);
      dev::sync_warp();
      (void)s.ld((t & ~31) | ((t + 1) & 31));
    });
  });
  expect_clean("named barriers order the threads that take part", [&] {
    emu::launch("named", one, b128, 512, [] {
      const int t = int(dev::thread_rank());
      const auto s = dev::shared_at<int>(0);
      s.st(t, t);
      if (t < 64) {
        dev::named_barrier_sync(1, 64);
        (void)s.ld(63 - t);
      } else {
        dev::named_barrier_sync(2, 64);
        (void)s.ld(191 - t);
      }
    });
  });
  expect_error("a named barrier does not order threads outside it", [&] {
    emu::launch("named_race", one, b128, 512, [] {
      const int t = int(dev::thread_rank());
      const auto s = dev::shared_at<int>(0);
      s.st(t, t);
      if (t < 64) dev::named_barrier_sync(1, 64);
      else dev::named_barrier_sync(2, 64);
      (void)s.ld(127 - t);
    });
  }, {"kernel named_race", "shared-memory race"});

  static std::vector<uint16_t> src(8 * 128);
  for (size_t i = 0; i < src.size(); ++i) src[i] = uint16_t(i * 7 + 1);
  expect_clean("cp.async data read after its wait and a barrier", [&] {
    emu::launch("cp_async_ok", one, b128, 16 * 128, [] {
      const int t = int(dev::thread_rank());
      const auto s = dev::shared_at<uint16_t>(0);
      dev::cp_async_16(s.at(8 * t), src.data() + 8 * t, 16);
      dev::cp_async_commit();
      dev::cp_async_wait<0>();
      dev::sync_block();
      if (s.ld(8 * ((t + 1) % 128) + 3) != src[8 * ((t + 1) % 128) + 3]) throw emu::Error("wrong value");
    });
  });
  expect_error("cp.async data read before its wait", [&] {
    emu::launch("cp_async_early", one, b128, 16 * 128, [] {
      const int t = int(dev::thread_rank());
      const auto s = dev::shared_at<uint16_t>(0);
      dev::cp_async_16(s.at(8 * t), src.data() + 8 * t, 16);
      dev::cp_async_commit();
      (void)s.ld(8 * t);
      dev::cp_async_wait<0>();
    });
  }, {"kernel cp_async_early", "cp.async data read before its wait"});
  expect_error("cp.async data of another thread read after its wait but without a barrier", [&] {
    emu::launch("cp_async_nobar", one, b128, 16 * 128, [] {
      const int t = int(dev::thread_rank());
      const auto s = dev::shared_at<uint16_t>(0);
      dev::cp_async_16(s.at(8 * t), src.data() + 8 * t, 16);
      dev::cp_async_commit();
      dev::cp_async_wait<0>();
      (void)s.ld(8 * ((t + 1) % 128));
    });
  }, {"kernel cp_async_nobar"});
  expect_error("an exception thrown by a kernel body", [&] {
    emu::launch("throws", one, b128, 0, [] {
      if (dev::thread_rank() == 5) throw std::runtime_error("bad input");
    });
  }, {"kernel throws", "thread 5 threw: bad input"});
  expect_error("a shared-memory access past the launch's bytes", [&] {
    emu::launch("oob", one, b128, 512, [] { (void)dev::shared_at<int>(0).ld(int(dev::thread_rank()) + 1); });
  }, {"kernel oob", "outside shared memory"});

  // Warp shuffles and votes against their definitions.
  static std::vector<int> out(128);
  expect_clean("shfl_xor butterfly sum, shfl_down, ballot", [&] {
    emu::launch("shuffles", one, b128, 0, [] {
      const int t = int(dev::thread_rank()), lane = int(dev::lane_id());
      int v = t;
      for (int m = 16; m > 0; m >>= 1) v += dev::shfl_xor(v, m);
      const int down = dev::shfl_down(t * 3, 5);
      const unsigned odd = dev::ballot(lane & 1);
      out[t] = v + (down == 3 * (lane + 5 < 32 ? t + 5 : t) ? 0 : 1000000) + (odd == 0xaaaaaaaau ? 0 : 2000000);
    });
    for (int t = 0; t < 128; ++t) {
      const int w = t / 32, want = 32 * 32 * w + 31 * 32 / 2;
      if (out[t] != want) throw emu::Error("thread " + std::to_string(t) + ": " + std::to_string(out[t]) + " != " + std::to_string(want));
    }
  });
  expect_error("lanes of a warp at different collectives", [&] {
    emu::launch("diverged", one, dev::Dim3{32, 1, 1}, 0, [] {
      if (dev::lane_id() < 16) (void)dev::ballot(true);
      else (void)dev::shfl(1, 0);
    });
  }, {"kernel diverged", "diverges"});
}

// ---------------------------------------------------------------- GEMMs against float64
std::mt19937_64 rng(20261207);

struct Case {
  int M, N, K;
};

// A GEMM problem with guard words after each operand (random, nonzero) and C prefilled with NaN.
template <class T>
struct Problem {
  int M, N, K;
  bool ta, tb, add;
  int lda, ldb, ldc;
  std::vector<T> a, b, c, d;
  std::vector<double> ref, scale;
  static constexpr int kGuard = 64;
};

template <class T, class FromF, class ToF>
Problem<T> make_problem(Case cs, bool ta, bool tb, bool add, int pad, FromF from_f, ToF to_f) {
  Problem<T> p{cs.M, cs.N, cs.K, ta, tb, add, 0, 0, 0, {}, {}, {}, {}, {}, {}};
  p.lda = (ta ? cs.M : cs.K) + pad;
  p.ldb = (tb ? cs.K : cs.N) + pad;
  p.ldc = cs.N;
  std::normal_distribution<double> nd(0.0, 1.0);
  const auto fill = [&](std::vector<T>& v, size_t n) {
    v.resize(n + Problem<T>::kGuard);
    for (auto& x : v) {
      double r = nd(rng);
      if (r == 0) r = 0.5;
      x = from_f(r);
    }
  };
  fill(p.a, size_t(ta ? cs.K : cs.M) * size_t(p.lda));
  fill(p.b, size_t(tb ? cs.N : cs.K) * size_t(p.ldb));
  if (add) fill(p.d, size_t(cs.M) * size_t(cs.N));
  p.c.assign(size_t(cs.M) * size_t(cs.N) + Problem<T>::kGuard, from_f(std::nan("")));
  p.ref.assign(size_t(cs.M) * size_t(cs.N), 0.0);
  p.scale.assign(p.ref.size(), 0.0);
  for (int m = 0; m < cs.M; ++m)
    for (int n = 0; n < cs.N; ++n) {
      double s = 0, abs = 0;
      for (int k = 0; k < cs.K; ++k) {
        const double x = to_f(ta ? p.a[size_t(k) * p.lda + m] : p.a[size_t(m) * p.lda + k]);
        const double y = to_f(tb ? p.b[size_t(n) * p.ldb + k] : p.b[size_t(k) * p.ldb + n]);
        s += x * y;
        abs += std::fabs(x * y);
      }
      if (add) {
        s += to_f(p.d[size_t(m) * cs.N + n]);
        abs += std::fabs(to_f(p.d[size_t(m) * cs.N + n]));
      }
      p.ref[size_t(m) * cs.N + n] = s;
      p.scale[size_t(m) * cs.N + n] = abs;
    }
  return p;
}

template <class T>
kern::GemmArgs<T> args_of(Problem<T>& p) {
  kern::GemmArgs<T> g;
  g.M = p.M, g.N = p.N, g.K = p.K;
  g.A = p.a.data(), g.lda = p.lda, g.B = p.b.data(), g.ldb = p.ldb, g.C = p.c.data(), g.ldc = p.ldc;
  if (p.add) {
    // C += A * B: D aliases C, which starts as the addend.
    std::copy(p.d.begin(), p.d.begin() + int64_t(p.M) * p.N, p.c.begin());
    g.D = p.c.data(), g.ldd = p.ldc;
  }
  return g;
}

template <kern::Plant P>
void run_bf16(const kern::GemmArgs<uint16_t>& g, bool ta, bool tb, const char* name) {
  kern::gemm_bf16_dispatch(g, ta, tb, [&](auto TA, auto TB, auto AL, dev::Dim3 grid, dev::Dim3 block, size_t smem) {
    emu::launch(name, grid, block, smem, [&] { kern::gemm_bf16_body<decltype(TA)::value, decltype(TB)::value, decltype(AL)::value, P>(g); });
  });
}

const auto bf16_from = [](double x) { return dev::f32_to_bf16(float(x)); };
const auto bf16_to = [](uint16_t h) { return double(dev::bf16_to_f32(h)); };

// Returns "" when the result is right, else what is wrong.
template <kern::Plant P = kern::Plant::None>
std::string bf16_case(Case cs, bool ta, bool tb, bool add, int pad) {
  Problem<uint16_t> p = make_problem<uint16_t>(cs, ta, tb, add, pad, bf16_from, bf16_to);
  const std::vector<uint16_t> guard(p.c.end() - Problem<uint16_t>::kGuard, p.c.end());
  try {
    run_bf16<P>(args_of(p), ta, tb, "gemm_bf16");
  } catch (const emu::Error& e) {
    return e.what();
  }
  // Output rounding to bf16 (half an ulp: 2^-9 relative) and f32 accumulation of K terms.
  const Check k = compare(p.c, p.ref, p.scale, 1.0 / 256, 1e-6 * std::sqrt(double(cs.K) + 1), bf16_to);
  std::ostringstream s;
  if (k.nan || k.bad) s << k.bad << " elements off, " << k.nan << " NaN (unwritten), max error " << k.max_err;
  if (!std::equal(guard.begin(), guard.end(), p.c.end() - Problem<uint16_t>::kGuard)) s << " writes past C";
  return s.str();
}

std::string f32_case(Case cs, bool ta, bool tb, bool add, int pad) {
  const auto from = [](double x) { return float(x); };
  const auto to = [](float x) { return double(x); };
  Problem<float> p = make_problem<float>(cs, ta, tb, add, pad, from, to);
  const kern::GemmArgs<float> g = args_of(p);
  try {
    kern::gemm_f32_dispatch(g, ta, tb, [&](auto TA, auto TB, dev::Dim3 grid, dev::Dim3 block, size_t smem) {
      emu::launch("gemm_f32", grid, block, smem, [&] { kern::gemm_f32_body<decltype(TA)::value, decltype(TB)::value>(g); });
    });
  } catch (const emu::Error& e) {
    return e.what();
  }
  const Check k = compare(p.c, p.ref, p.scale, 1e-6, 2e-7 * std::sqrt(double(cs.K) + 1), to);
  std::ostringstream s;
  if (k.nan || k.bad) s << k.bad << " elements off, " << k.nan << " NaN (unwritten), max error " << k.max_err;
  return s.str();
}

const Case kShapes[] = {{64, 64, 64}, {1, 1, 1}, {37, 53, 19}, {65, 71, 33}, {130, 67, 97}, {16, 136, 40}, {72, 24, 200}, {3, 5, 0}};

void gemm_tests() {
  for (const Case& cs : kShapes)
    for (int f = 0; f < 8; ++f) {
      const bool ta = f & 1, tb = f & 2, add = f & 4;
      const auto name = [&](const char* kind, const char* path) {
        std::ostringstream s;
        s << kind << " " << cs.M << "x" << cs.N << "x" << cs.K << (ta ? " A^T" : "") << (tb ? " B^T" : "") << (add ? " +D" : "") << path;
        return s.str();
      };
      const std::string r = bf16_case(cs, ta, tb, add, 0);
      const bool aligned = (ta ? cs.M : cs.K) % 8 == 0 && (tb ? cs.K : cs.N) % 8 == 0;
      report(r.empty(), name("bf16", aligned ? " (cp.async)" : " (plain loads)") + (r.empty() ? "" : ": " + r));
      if (aligned) {  // padded rows that break 16-byte alignment take the plain-load path
        const std::string r2 = bf16_case(cs, ta, tb, add, 3);
        report(r2.empty(), name("bf16", " (plain loads, lda/ldb +3)") + (r2.empty() ? "" : ": " + r2));
      }
      const std::string r3 = f32_case(cs, ta, tb, add, f == 3 ? 5 : 0);
      report(r3.empty(), name("f32", "") + (r3.empty() ? "" : ": " + r3));
    }
}

// ---------------------------------------------------------------- planted bugs
void planted_tests() {
  using kern::Plant;
  // Each runs the GEMM check with the bug planted; the check must fail.
  const auto caught = [](const char* bug, const std::string& r) {
    report(!r.empty(), std::string("planted ") + bug + (r.empty() ? ": NOT caught" : ": caught (" + r + ")"));
  };
  caught("fragment-index error (C element i stored at i^1's place)", bf16_case<Plant::FragmentIndex>({40, 24, 32}, false, false, false, 0));
  caught("missing barrier before a stage is refilled (cp.async path)", bf16_case<Plant::MissingBarrier>({64, 64, 96}, false, false, false, 0));
  caught("missing barrier before a stage is refilled (plain loads)", bf16_case<Plant::MissingBarrier>({37, 53, 75}, false, true, false, 0));
  caught("off-by-one at the K edge of a tile (plain loads)", bf16_case<Plant::TileEdge>({37, 21, 45}, false, true, false, 0));
  caught("off-by-one at the K edge of a tile (cp.async)", bf16_case<Plant::TileEdge>({16, 24, 40}, false, true, false, 0));
  grouped_planted_tests();
}

// ---------------------------------------------------------------- probes
probe::Results emulated_probes() {
  probe::Results r;
  r.device = "emulator";
  const dev::Dim3 one{1, 1, 1}, warp{32, 1, 1};
  const auto ld = [&](auto N, auto Trans) {
    std::vector<uint32_t> out(probe::kLdmatrixWords, 0);
    emu::launch("probe_ldmatrix", one, warp, probe::kLdmatrixSmem, [&] { probe::ldmatrix_body<decltype(N)::value, decltype(Trans)::value>(out.data()); });
    r.ldmatrix.push_back(out);
  };
  using T = std::true_type;
  using F = std::false_type;
  ld(std::integral_constant<int, 1>{}, F{});
  ld(std::integral_constant<int, 1>{}, T{});
  ld(std::integral_constant<int, 2>{}, F{});
  ld(std::integral_constant<int, 2>{}, T{});
  ld(std::integral_constant<int, 4>{}, F{});
  ld(std::integral_constant<int, 4>{}, T{});
  r.mma.assign(size_t(probe::kMmaRuns) * 128, 0.f);
  emu::launch("probe_mma", one, warp, 0, [&] { probe::mma_body(r.mma.data()); });
  return r;
}

void probe_tests(const std::string& fixture) {
  compare_with_fixture(probe::to_json(emulated_probes()), fixture, "the emulator's ldmatrix and mma.sync fragments");
}

}  // namespace

int main(int argc, char** argv) {
  const std::string group = argc > 1 ? argv[1] : "";
  if (group == "emulator") emulator_tests();
  else if (group == "gemm") gemm_tests();
  else if (group == "planted") planted_tests();
  else if (group == "simt") simt_tests();
  else if (group == "moe") moe_tests();
  else if (group == "attention") attention_tests();
  else if (group == "grouped") grouped_tests();
  else if (group == "newton-schulz") newton_schulz_tests();
  else if (group == "probes") probe_tests(argc > 2 ? argv[2] : "test/fixtures/cuda-probes.json");
  else if (group == "tma") tma_tests(argc > 2 ? argv[2] : "test/fixtures/cuda-probes-tma.json");
  else if (group == "write-probes" && argc > 2) {
    std::ofstream(argv[2]) << probe::to_json(emulated_probes());
    std::printf("wrote %s\n", argv[2]);
  } else if (group == "write-tma" && argc > 2) {
    std::ofstream(argv[2]) << tma_predicted_json();
    std::printf("wrote %s\n", argv[2]);
  } else {
    std::fprintf(stderr, "usage: %s emulator|gemm|planted|simt|moe|attention|grouped|newton-schulz|probes [fixture]|tma [fixture]|write-probes FILE|write-tma FILE\n", argv[0]);
    return 2;
  }
  return failures ? 1 : 0;
}
