// The TMA probe's cases and results, shared by the GPU program (tma_probe_main.cu) and the
// emulator's test (test/cuda/emu_tests.cc), which writes what tma_layout.h predicts in the same
// JSON so that the two files compare as text (only the "device" line differs).
#pragma once

#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "../device/tma_layout.h"

namespace mt::probe {

// The global tensor: kTmaRows x kTmaCols u16, element (r, c) = r * kTmaCols + c + 1 (0 is the
// out-of-bounds fill). Its row pitch, 208 bytes, is a multiple of 16 as TMA requires.
constexpr int kTmaRows = 40, kTmaCols = 104;

struct TmaCase {
  tma::Swizzle swizzle;
  int inner, rows;  // the box: `inner` elements per row, `rows` rows
  int x, y;         // the box's first column and row in the tensor (may lie outside it)
};

// Each mode with its full span as the box row, inside the tensor and across its edges; 128B also
// with a half-span row and at negative coordinates.
inline const TmaCase kTmaCases[] = {
    {tma::Swizzle::None, 32, 16, 8, 3},   {tma::Swizzle::None, 32, 16, 88, 30},  {tma::Swizzle::None, 32, 16, -5, -2},
    {tma::Swizzle::B32, 16, 16, 8, 3},    {tma::Swizzle::B32, 16, 16, 96, 30},
    {tma::Swizzle::B64, 32, 16, 8, 3},    {tma::Swizzle::B64, 32, 16, 80, 30},
    {tma::Swizzle::B128, 64, 16, 8, 3},   {tma::Swizzle::B128, 64, 16, 64, 30},  {tma::Swizzle::B128, 64, 16, -8, -3},
    {tma::Swizzle::B128, 32, 16, 8, 3},
};
constexpr int kTmaCaseCount = int(sizeof(kTmaCases) / sizeof(kTmaCases[0]));

inline int tma_box_elements(const TmaCase& c) { return c.inner * c.rows; }

inline uint16_t tma_global_value(int row, int col) {
  return row >= 0 && row < kTmaRows && col >= 0 && col < kTmaCols ? uint16_t(row * kTmaCols + col + 1) : uint16_t(0);
}

// The shared-memory region (in u16 slots) that tma_layout.h predicts for a case.
inline std::vector<uint16_t> tma_predicted(const TmaCase& c) {
  std::vector<uint16_t> smem(size_t(tma_box_elements(c)), 0xFFFF);
  for (int r = 0; r < c.rows; ++r)
    for (int k = 0; k < c.inner; ++k)
      smem[tma::box_offset(c.swizzle, uint32_t(r), uint32_t(k), uint32_t(c.inner), 2) / 2] = tma_global_value(c.y + r, c.x + k);
  return smem;
}

inline const char* tma_swizzle_name(tma::Swizzle s) {
  return s == tma::Swizzle::None ? "none" : s == tma::Swizzle::B32 ? "32B" : s == tma::Swizzle::B64 ? "64B" : "128B";
}

// results[i] = the shared-memory region of case i after the load.
inline std::string tma_to_json(const std::string& device, const std::vector<std::vector<uint16_t>>& results) {
  std::ostringstream s;
  s << "{\n  \"format\": \"moontrain-tma-probes-1\",\n";
  s << "  \"device\": \"" << device << "\",\n";
  s << "  \"about\": \"cp.async.bulk.tensor.2d tile loads of a " << kTmaRows << " x " << kTmaCols
    << " u16 tensor whose element (r, c) is r * " << kTmaCols << " + c + 1, into 1024-byte-aligned shared memory; "
       "per case, the box's shared-memory region as u16 slots (0: out-of-bounds fill)\",\n";
  s << "  \"cases\": [\n";
  for (int i = 0; i < kTmaCaseCount; ++i) {
    const TmaCase& c = kTmaCases[i];
    s << "    {\"swizzle\": \"" << tma_swizzle_name(c.swizzle) << "\", \"box\": [" << c.inner << ", " << c.rows << "], \"at\": [" << c.x << ", " << c.y
      << "], \"smem\": [";
    for (size_t e = 0; e < results[size_t(i)].size(); ++e) s << (e ? ", " : "") << results[size_t(i)][e];
    s << "]}" << (i + 1 < kTmaCaseCount ? "," : "") << "\n";
  }
  s << "  ]\n}\n";
  return s.str();
}

}  // namespace mt::probe
