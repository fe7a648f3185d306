// What the probe programs' host sides share: checked CUDA calls, and the command line (one
// argument, the output file) with device 0's properties.
#pragma once

#include <cuda_runtime.h>

#include <cstdio>
#include <cstdlib>

namespace mt::probe {

inline const char* g_program = "cuda-probes";

inline void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) {
    std::fprintf(stderr, "%s: %s: %s\n", g_program, what, cudaGetErrorString(e));
    std::exit(1);
  }
}

// The output file named by the program's one argument (usage and exit otherwise), and device 0.
inline const char* open_probe(const char* program, int argc, char** argv, cudaDeviceProp& prop) {
  g_program = program;
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUTPUT.json\n", argv[0]);
    std::exit(2);
  }
  check(cudaGetDeviceProperties(&prop, 0), "device 0");
  return argv[1];
}

}  // namespace mt::probe
