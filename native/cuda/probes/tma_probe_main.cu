// The TMA probe program (for CUDA part 2, not used by any kernel yet): where a
// `cp.async.bulk.tensor.2d` tile load puts each element of its box in shared memory, in each swizzle
// mode, inside the tensor, across its edges and at negative coordinates (tma_probes.h lists the
// cases). Built for sm_90a and run by scripts/dev/cuda-probes.sh on a Hopper GPU; writes
// test/fixtures/cuda-probes-tma.json, which the emulator's test compares with tma_layout.h's reading.
// The tensor map is encoded through the runtime's driver entry point, so nothing links libcuda.
#include <cuda.h>
#include <cudaTypedefs.h>
#include <cuda_runtime.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "probe_host.h"
#include "tma_probes.h"

namespace {

using mt::probe::check;

constexpr int kMaxBoxElements = 1024;  // the largest case: 64 x 16 u16
constexpr uint16_t kUnwritten = 0xFFFF;

__global__ void __launch_bounds__(32) tma_probe_kernel(const __grid_constant__ CUtensorMap map, int x, int y, uint32_t bytes, uint16_t* out) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  __shared__ __align__(1024) uint16_t box[kMaxBoxElements];
  __shared__ __align__(8) uint64_t barrier;
  const uint32_t barrier_addr = uint32_t(__cvta_generic_to_shared(&barrier));
  const uint32_t box_addr = uint32_t(__cvta_generic_to_shared(box));
  for (int i = threadIdx.x; i < kMaxBoxElements; i += 32) box[i] = kUnwritten;
  if (threadIdx.x == 0) {
    asm volatile("mbarrier.init.shared::cta.b64 [%0], 1;\n" ::"r"(barrier_addr) : "memory");
    asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
  }
  asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");  // the marks above, before the async proxy writes
  __syncthreads();
  if (threadIdx.x == 0) {
    asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;\n" ::"r"(barrier_addr), "r"(bytes) : "memory");
    asm volatile(
        "cp.async.bulk.tensor.2d.shared::cluster.global.tile.mbarrier::complete_tx::bytes [%0], [%1, {%2, %3}], [%4];\n" ::"r"(box_addr),
        "l"(reinterpret_cast<uint64_t>(&map)), "r"(x), "r"(y), "r"(barrier_addr)
        : "memory");
  }
  asm volatile(
      "{\n.reg .pred done;\nwaiting:\nmbarrier.try_wait.parity.shared::cta.b64 done, [%0], 0;\n@!done bra waiting;\n}\n" ::"r"(barrier_addr)
      : "memory");
  for (int i = threadIdx.x; i < kMaxBoxElements; i += 32) out[i] = box[i];
#else
  if (threadIdx.x == 0) out[0] = 0xDEAD;  // not built for sm_90
  (void)map, (void)x, (void)y, (void)bytes;
#endif
}

PFN_cuTensorMapEncodeTiled_v12000 tensor_map_encoder() {
  void* fn = nullptr;
  cudaDriverEntryPointQueryResult found;
  check(cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &fn, 12000, cudaEnableDefault, &found), "cudaGetDriverEntryPointByVersion");
  if (found != cudaDriverEntryPointSuccess || !fn) {
    std::fprintf(stderr, "tma-probe: the driver has no cuTensorMapEncodeTiled\n");
    std::exit(1);
  }
  return reinterpret_cast<PFN_cuTensorMapEncodeTiled_v12000>(fn);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace mt::probe;
  cudaDeviceProp prop;
  const char* output = open_probe("tma-probe", argc, argv, prop);
  if (prop.major < 9) {
    std::fprintf(stderr, "tma-probe: %s is sm_%d%d; TMA needs sm_90\n", prop.name, prop.major, prop.minor);
    return 3;
  }
  std::vector<uint16_t> tensor(size_t(kTmaRows) * kTmaCols);
  for (int r = 0; r < kTmaRows; ++r)
    for (int c = 0; c < kTmaCols; ++c) tensor[size_t(r) * kTmaCols + c] = tma_global_value(r, c);
  uint16_t *global = nullptr, *out = nullptr;
  check(cudaMalloc(&global, tensor.size() * 2), "cudaMalloc");
  check(cudaMalloc(&out, kMaxBoxElements * 2), "cudaMalloc");
  check(cudaMemcpy(global, tensor.data(), tensor.size() * 2, cudaMemcpyHostToDevice), "tensor");
  const auto encode = tensor_map_encoder();
  std::vector<std::vector<uint16_t>> results;
  for (const TmaCase& c : kTmaCases) {
    CUtensorMap map;
    const cuuint64_t dims[2] = {cuuint64_t(kTmaCols), cuuint64_t(kTmaRows)};
    const cuuint64_t strides[1] = {cuuint64_t(kTmaCols) * 2};
    const cuuint32_t box[2] = {cuuint32_t(c.inner), cuuint32_t(c.rows)}, steps[2] = {1, 1};
    const CUresult e = encode(&map, CU_TENSOR_MAP_DATA_TYPE_UINT16, 2, global, dims, strides, box, steps, CU_TENSOR_MAP_INTERLEAVE_NONE,
                              CUtensorMapSwizzle(int(c.swizzle)), CU_TENSOR_MAP_L2_PROMOTION_NONE, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
    if (e != CUDA_SUCCESS) {
      std::fprintf(stderr, "tma-probe: cuTensorMapEncodeTiled failed (CUresult %d) for swizzle %s, box %d x %d\n", int(e), tma_swizzle_name(c.swizzle), c.inner, c.rows);
      return 1;
    }
    tma_probe_kernel<<<1, 32>>>(map, c.x, c.y, uint32_t(tma_box_elements(c) * 2), out);
    check(cudaGetLastError(), "launch");
    check(cudaDeviceSynchronize(), "tma probe");
    std::vector<uint16_t> h(kMaxBoxElements);
    check(cudaMemcpy(h.data(), out, h.size() * 2, cudaMemcpyDeviceToHost), "results");
    if (h[0] == 0xDEAD) {
      std::fprintf(stderr, "tma-probe: the kernel was not built for sm_90\n");
      return 4;
    }
    h.resize(size_t(tma_box_elements(c)));
    results.push_back(h);
  }
  std::ofstream(output) << tma_to_json(prop.name, results);
  std::printf("tma-probe: wrote %s (%s)\n", output, prop.name);
  return 0;
}
