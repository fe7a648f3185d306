// The probe program for a GPU host: runs the probe kernels (probes.cuh) on device 0 and writes
// their results as JSON (probe_json.h) to the file named by its argument. Built and run by
// scripts/dev/cuda-probes.sh.
#include <cstdio>
#include <fstream>
#include <vector>

#include "probe_host.h"
#include "probe_json.h"
#include "probes.cuh"

namespace {

using mt::probe::check;

template <int N, bool Trans>
__global__ void probe_ldmatrix_kernel(uint32_t* out) {
  mt::probe::ldmatrix_body<N, Trans>(out);
}
__global__ void probe_mma_kernel(float* out) { mt::probe::mma_body(out); }

template <int N, bool Trans>
std::vector<uint32_t> run_ldmatrix() {
  uint32_t* d = nullptr;
  check(cudaMalloc(&d, mt::probe::kLdmatrixWords * sizeof(uint32_t)), "cudaMalloc");
  check(cudaMemset(d, 0, mt::probe::kLdmatrixWords * sizeof(uint32_t)), "cudaMemset");
  probe_ldmatrix_kernel<N, Trans><<<1, 32, mt::probe::kLdmatrixSmem>>>(d);
  check(cudaGetLastError(), "launch probe_ldmatrix");
  std::vector<uint32_t> h(mt::probe::kLdmatrixWords);
  check(cudaMemcpy(h.data(), d, h.size() * sizeof(uint32_t), cudaMemcpyDeviceToHost), "ldmatrix probe results");
  check(cudaFree(d), "cudaFree");
  return h;
}

}  // namespace

int main(int argc, char** argv) {
  cudaDeviceProp prop;
  const char* output = mt::probe::open_probe("cuda-probes", argc, argv, prop);
  mt::probe::Results r;
  r.device = std::string(prop.name) + " (sm_" + std::to_string(prop.major) + std::to_string(prop.minor) + ")";
  r.ldmatrix = {run_ldmatrix<1, false>(), run_ldmatrix<1, true>(), run_ldmatrix<2, false>(),
                run_ldmatrix<2, true>(),  run_ldmatrix<4, false>(), run_ldmatrix<4, true>()};
  float* d = nullptr;
  const size_t n = size_t(mt::probe::kMmaRuns) * 128;
  check(cudaMalloc(&d, n * sizeof(float)), "cudaMalloc");
  probe_mma_kernel<<<1, 32>>>(d);
  check(cudaGetLastError(), "launch probe_mma");
  r.mma.resize(n);
  check(cudaMemcpy(r.mma.data(), d, n * sizeof(float), cudaMemcpyDeviceToHost), "mma probe results");
  check(cudaFree(d), "cudaFree");
  std::ofstream(output) << mt::probe::to_json(r);
  std::printf("cuda-probes: wrote %s (%s)\n", output, r.device.c_str());
  return 0;
}
