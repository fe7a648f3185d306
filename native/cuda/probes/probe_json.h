// The probe results as JSON (test/fixtures/cuda-probes.json). One writer for the GPU host program
// and the emulator's test, so the two files compare as text; the "device" line is the only one
// that differs.
#pragma once

#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

namespace mt::probe {

struct Results {
  std::string device;
  // ldmatrix variants in the order x1, x1.trans, x2, x2.trans, x4, x4.trans; 32 * 4 words each.
  std::vector<std::vector<uint32_t>> ldmatrix;
  std::vector<float> mma;  // kMmaRuns * 128
};

inline const char* const kLdmatrixNames[6] = {"x1", "x1.trans", "x2", "x2.trans", "x4", "x4.trans"};
inline const int kLdmatrixCount[6] = {1, 1, 2, 2, 4, 4};

inline std::string to_json(const Results& r) {
  std::ostringstream s;
  s << "{\n  \"format\": \"moontrain-cuda-probes-1\",\n";
  s << "  \"device\": \"" << r.device << "\",\n";
  s << "  \"ldmatrix\": {\n";
  s << "    \"about\": \"lane l gives row l of a 32x8 b16 tile holding i at element i; per variant, per lane, per register: "
       "[low half, high half] as tile element indexes\",\n";
  for (int v = 0; v < 6; ++v) {
    s << "    \"" << kLdmatrixNames[v] << "\": [";
    for (int lane = 0; lane < 32; ++lane) {
      s << (lane ? ", " : "") << "[";
      for (int j = 0; j < kLdmatrixCount[v]; ++j) {
        const uint32_t w = r.ldmatrix[v][lane * 4 + j];
        s << (j ? ", " : "") << "[" << (w & 0xffff) << ", " << (w >> 16) << "]";
      }
      s << "]";
    }
    s << "]" << (v < 5 ? "," : "") << "\n";
  }
  s << "  },\n  \"mma_m16n8k16_bf16\": {\n";
  s << "    \"about\": \"per run, the nonzero D elements as [lane, i, value]; runs 0..255 a_hot, 256..383 c_hot "
       "(native/cuda/probes/probes.cuh)\",\n    \"runs\": [\n";
  const size_t runs = r.mma.size() / 128;
  for (size_t run = 0; run < runs; ++run) {
    s << "      [";
    bool first = true;
    for (int e = 0; e < 128; ++e) {
      const float v = r.mma[run * 128 + size_t(e)];
      if (v == 0.f) continue;
      s << (first ? "" : ", ") << "[" << e / 4 << ", " << e % 4 << ", " << v << "]";
      first = false;
    }
    s << "]" << (run + 1 < runs ? "," : "") << "\n";
  }
  s << "    ]\n  }\n}\n";
  return s.str();
}

// The JSON without its device line, for comparing an emulator's file with a GPU's.
inline std::string without_device(const std::string& json) {
  std::istringstream in(json);
  std::string line, out;
  while (std::getline(in, line))
    if (line.find("\"device\":") == std::string::npos) out += line + "\n";
  return out;
}

}  // namespace mt::probe
