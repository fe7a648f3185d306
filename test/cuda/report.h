// What the emulator tests share: one output line per check ("ok - ..." / "not ok - ..."; a
// failure makes the executable exit 1, test/cuda/emu_tests.cc), the element-wise comparison with
// a float64 reference, and each file's groups.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

void report(bool ok, const std::string& what);
void simt_tests();       // test/cuda/simt_tests.cc
void moe_tests();        // test/cuda/moe_tests.cc
void attention_tests();  // test/cuda/attention_tests.cc
void grouped_tests();             // test/cuda/grouped_tests.cc
void newton_schulz_tests();       // test/cuda/grouped_tests.cc
void grouped_planted_tests();     // test/cuda/grouped_tests.cc
void tma_tests(const std::string& fixture);  // test/cuda/tma_tests.cc
std::string tma_predicted_json();            // test/cuda/tma_tests.cc
// test/cuda/fixture_compare.cc
void compare_with_fixture(const std::string& mine, const std::string& fixture, const std::string& what);

struct Check {
  double max_err = 0, max_ratio = 0;
  int64_t bad = 0, nan = 0;
};

// C (rows x cols) against ref: |c - ref| <= rel * |ref| + abs_scale[i] * eps_acc.
template <class T, class ToF>
Check compare(const std::vector<T>& c, const std::vector<double>& ref, const std::vector<double>& scale, double rel, double acc_eps, ToF to_f) {
  Check k;
  for (size_t i = 0; i < ref.size(); ++i) {
    const double v = to_f(c[i]);
    if (std::isnan(v)) {
      ++k.nan;
      continue;
    }
    const double err = std::fabs(v - ref[i]), tol = rel * std::fabs(ref[i]) + acc_eps * scale[i] + 1e-30;
    k.max_err = std::max(k.max_err, err);
    k.max_ratio = std::max(k.max_ratio, err / tol);
    if (err > tol) ++k.bad;
  }
  return k;
}
