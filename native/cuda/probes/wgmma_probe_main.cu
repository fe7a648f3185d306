// The Hopper probe program (for CUDA part 2, not used by any kernel yet): where the elements of a
// `wgmma.mma_async.m64n16k16.f32.bf16.bf16` A operand read from shared memory land in the D
// fragment, in each of the four shared-memory layouts a matrix descriptor names (no swizzle, 32B,
// 64B, 128B). Built for sm_90a and run by scripts/dev/cuda-probes.sh on a Hopper GPU; writes
// test/fixtures/cuda-probes-sm90.json, the facts the wgmma emulation of part 2 will be checked
// against.
//
// How: B (16 x 16, no swizzle) is the identity, so D[m][n] = A[m][k = n]. A's shared memory holds,
// at bf16 element e of its region, one base-16 digit of e (three runs: digits 0, 1, 2; exact in
// bf16), so the three runs name, for every (thread, register) of D, the shared-memory element the
// hardware read there. The descriptors used are written beside the results, so a wrong guess of
// their fields is visible in the facts rather than hidden. Outside sm_90a the kernel is empty (the
// compile gates build every .cu for sm_80 and sm_90).
#include <cuda_runtime.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "probe_host.h"

namespace {

using mt::probe::check;

constexpr int kThreads = 128;          // one warpgroup
constexpr int kRegs = 8;               // m64n16 f32: 64 * 16 / 128 per thread
constexpr int kRuns = 3;               // base-16 digits of the element index
constexpr int kModes = 4;              // 0 none, 1 128B, 2 64B, 3 32B (the descriptor's encoding)
[[maybe_unused]] constexpr int kARegionBytes = 64 * 128;  // 64 rows of up to 128 bytes (used only under sm_90a)
constexpr int kBBytes = 16 * 16 * 2;

// Row pitch of A's K-major tile in each swizzle mode, and the descriptor's stride byte offset (8 rows).
__host__ __device__ constexpr int row_bytes(int mode) { return mode == 1 ? 128 : mode == 2 ? 64 : mode == 3 ? 32 : 16; }

__host__ __device__ uint64_t descriptor(uint32_t smem_addr, uint32_t lbo, uint32_t sbo, int mode) {
  return uint64_t((smem_addr >> 4) & 0x3FFF) | (uint64_t((lbo >> 4) & 0x3FFF) << 16) | (uint64_t((sbo >> 4) & 0x3FFF) << 32) |
         (uint64_t(mode) << 62);
}

// No swizzle: core matrices of 8 rows x 16 bytes; (row block, k block) at row_block * 256 + k_block * 128.
constexpr uint32_t kLboNone = 128, kSboNone = 256;
__host__ __device__ uint32_t a_lbo(int mode) { return mode == 0 ? kLboNone : 16; }
__host__ __device__ uint32_t a_sbo(int mode) { return mode == 0 ? kSboNone : 8 * row_bytes(mode); }

__global__ void __launch_bounds__(kThreads) wgmma_probe_kernel(float* out, uint64_t* descriptors) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  __shared__ __align__(1024) uint16_t a[kARegionBytes / 2];
  __shared__ __align__(128) uint16_t b[kBBytes / 2];
  const int tid = threadIdx.x;
  // B: the 16 x 16 identity, K-major, no swizzle (core matrix (n/8, k/8) at (n/8)*256 + (k/8)*128).
  for (int i = tid; i < 256; i += kThreads) {
    const int n = i / 16, k = i % 16;
    b[((n / 8) * 256 + (k / 8) * 128 + (n % 8) * 16 + (k % 8) * 2) / 2] = n == k ? 0x3F80 : 0;  // bf16 1.0
  }
  for (int mode = 0; mode < kModes; ++mode) {
    for (int run = 0; run < kRuns; ++run) {
      for (int e = tid; e < kARegionBytes / 2; e += kThreads) {
        const int digit = (e >> (4 * run)) & 15;
        a[e] = uint16_t(__float_as_uint(float(digit)) >> 16);  // small integers are exact in bf16
      }
      asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
      __syncthreads();
      const uint32_t a_addr = uint32_t(__cvta_generic_to_shared(a)), b_addr = uint32_t(__cvta_generic_to_shared(b));
      const uint64_t da = descriptor(a_addr, a_lbo(mode), a_sbo(mode), mode), db = descriptor(b_addr, kLboNone, kSboNone, 0);
      if (tid == 0 && run == 0) descriptors[mode * 2] = da, descriptors[mode * 2 + 1] = db;
      float d[kRegs];
      for (float& x : d) x = 0.f;
      asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory");
      asm volatile(
          "{\n.reg .pred p;\nsetp.ne.b32 p, 0, 0;\n"
          "wgmma.mma_async.sync.aligned.m64n16k16.f32.bf16.bf16 {%0, %1, %2, %3, %4, %5, %6, %7}, %8, %9, p, 1, 1, 0, 0;\n}\n"
          : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7])
          : "l"(da), "l"(db));
      asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory");
      asm volatile("wgmma.wait_group.sync.aligned 0;\n" ::: "memory");
      for (int r = 0; r < kRegs; ++r) out[((mode * kRuns + run) * kThreads + tid) * kRegs + r] = d[r];
      __syncthreads();
    }
  }
#else
  if (threadIdx.x == 0) out[0] = -1.f;  // not built for sm_90a
  (void)descriptors;
#endif
}

}  // namespace

int main(int argc, char** argv) {
  cudaDeviceProp prop;
  const char* output = mt::probe::open_probe("wgmma-probe", argc, argv, prop);
  if (prop.major != 9) {
    std::fprintf(stderr, "wgmma-probe: %s is sm_%d%d; wgmma needs sm_90\n", prop.name, prop.major, prop.minor);
    return 3;
  }
  const size_t n = size_t(kModes) * kRuns * kThreads * kRegs;
  float* d = nullptr;
  uint64_t* desc = nullptr;
  check(cudaMalloc(&d, n * sizeof(float)), "cudaMalloc");
  check(cudaMalloc(&desc, kModes * 2 * sizeof(uint64_t)), "cudaMalloc");
  wgmma_probe_kernel<<<1, kThreads>>>(d, desc);
  check(cudaGetLastError(), "launch");
  check(cudaDeviceSynchronize(), "wgmma probe");
  std::vector<float> h(n);
  std::vector<uint64_t> hd(kModes * 2);
  check(cudaMemcpy(h.data(), d, n * sizeof(float), cudaMemcpyDeviceToHost), "results");
  check(cudaMemcpy(hd.data(), desc, hd.size() * sizeof(uint64_t), cudaMemcpyDeviceToHost), "descriptors");
  if (h[0] == -1.f) {
    std::fprintf(stderr, "wgmma-probe: the kernel was not built for sm_90a\n");
    return 4;
  }
  // element[mode][thread][reg] = the shared-memory bf16 element of A read into that D register.
  std::string json = "{\n  \"device\": \"" + std::string(prop.name) + "\",\n  \"instruction\": \"wgmma.mma_async.m64n16k16.f32.bf16.bf16, A and B from shared memory, B the identity\",\n  \"modes\": [\"none\", \"128B\", \"64B\", \"32B\"],\n  \"descriptors\": [";
  for (int i = 0; i < kModes * 2; ++i) json += (i ? ", \"0x" : "\"0x") + [&] { char b[24]; std::snprintf(b, sizeof b, "%016llx", (unsigned long long)hd[i]); return std::string(b); }() + "\"";
  json += "],\n  \"element\": [";
  for (int mode = 0; mode < kModes; ++mode) {
    json += mode ? ",\n    [" : "\n    [";
    for (int t = 0; t < kThreads; ++t) {
      json += t ? ", [" : "[";
      for (int r = 0; r < kRegs; ++r) {
        int e = 0;
        for (int run = 0; run < kRuns; ++run) e |= int(h[((size_t(mode) * kRuns + run) * kThreads + t) * kRegs + r]) << (4 * run);
        json += (r ? ", " : "") + std::to_string(e);
      }
      json += "]";
    }
    json += "]";
  }
  json += "\n  ]\n}\n";
  std::ofstream(output) << json;
  std::printf("wgmma-probe: wrote %s (%s)\n", output, prop.name);
  return 0;
}
