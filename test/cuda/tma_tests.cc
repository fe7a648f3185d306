// The reading of TMA box loads in native/cuda/device/tma_layout.h (for CUDA part 2): checked on its
// own (every element of each box lands in exactly one slot, out-of-bounds elements are the zero
// fill) and against the TMA probe's fixture recorded on a Hopper GPU, when present.
#include <string>
#include <vector>

#include "../../native/cuda/probes/tma_probes.h"
#include "report.h"

using namespace mt;

std::string tma_predicted_json() {
  std::vector<std::vector<uint16_t>> results;
  for (const probe::TmaCase& c : probe::kTmaCases) results.push_back(probe::tma_predicted(c));
  return probe::tma_to_json("tma_layout.h", results);
}

void tma_tests(const std::string& fixture) {
  for (const probe::TmaCase& c : probe::kTmaCases) {
    const std::vector<uint16_t> smem = probe::tma_predicted(c);
    std::vector<int> seen(size_t(probe::kTmaRows) * probe::kTmaCols + 1, 0);
    int unwritten = 0, fill = 0, inside = 0;
    for (uint16_t v : smem) {
      if (v == 0xFFFF) ++unwritten;
      else if (v == 0) ++fill;
      else ++seen[v];
    }
    for (int r = 0; r < c.rows; ++r)
      for (int k = 0; k < c.inner; ++k) inside += probe::tma_global_value(c.y + r, c.x + k) != 0;
    int once = 0;
    for (int v : seen) once += v == 1;
    const std::string name = std::string("TMA ") + probe::tma_swizzle_name(c.swizzle) + " box " + std::to_string(c.inner) + "x" + std::to_string(c.rows) + " at (" +
                             std::to_string(c.x) + ", " + std::to_string(c.y) + ")";
    report(unwritten == 0 && once == inside && fill == probe::tma_box_elements(c) - inside,
           name + ": every element once (" + std::to_string(once) + " of " + std::to_string(inside) + "), " + std::to_string(fill) + " filled, " + std::to_string(unwritten) +
               " slots unwritten");
  }
  // A reading that ignores the swizzle must differ from this one in every swizzled case.
  for (const probe::TmaCase& c : probe::kTmaCases) {
    if (c.swizzle == tma::Swizzle::None) continue;
    probe::TmaCase plain = c;
    plain.swizzle = tma::Swizzle::None;
    if (probe::tma_predicted(plain) == probe::tma_predicted(c)) report(false, std::string("TMA ") + probe::tma_swizzle_name(c.swizzle) + ": the swizzle moves nothing");
  }
  compare_with_fixture(tma_predicted_json(), fixture, "tma_layout.h's TMA box layouts");
}
