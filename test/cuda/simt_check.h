// What the emulator tests of the SIMT kernels share (test/cuda/simt_tests.cc, moe_tests.cc):
// random inputs, NaN-poisoned outputs, the float64 comparison, the run-twice check of identical
// bits and the launches.
#pragma once

#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "../../native/cuda/kernels/simt_common.cuh"
#include "report.h"
#include "values.h"

namespace emu_check {

using namespace mt;
using namespace mt::test;
using kern::Elementwise;
using kern::RowBlock;
inline std::mt19937_64 rng(20261201);

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
inline bool close(const std::string& what, const std::vector<double>& got, const std::vector<double>& ref, double tol, double floor = 1.0) {
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
inline bool twice(const std::string& what, const std::function<std::vector<double>()>& run, std::vector<double>* out) {
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

}  // namespace emu_check
