// Instantiates every wrapper of the device layer under nvcc, so the compile gates
// (scripts/ci/cuda-gates.js) build each one for sm_80 and sm_90 even before a kernel uses it.
// Never launched.
#include "device.cuh"

namespace mt::dev {

__global__ void device_layer_check(float* f, int* i, unsigned* u, const uint16_t* src) {
  const Smem<uint16_t> s = shared_at<uint16_t>(0);
  const unsigned t = thread_rank();
  cp_async_16(s.at(8 * t), src + 8 * t, 16);
  cp_async_commit();
  cp_async_wait<0>();
  sync_block();
  uint32_t r[4];
  ldmatrix<1, false>(r, s.at(8 * lane_id()));
  ldmatrix<1, true>(r, s.at(8 * lane_id()));
  ldmatrix<2, false>(r, s.at(8 * lane_id()));
  ldmatrix<2, true>(r, s.at(8 * lane_id()));
  ldmatrix<4, false>(r, s.at(8 * lane_id()));
  ldmatrix<4, true>(r, s.at(8 * lane_id()));
  const uint32_t b[2] = {r[0], r[1]};
  float d[4];
  const float c[4] = {f[0], f[1], f[2], f[3]};
  mma_bf16_16816(d, r, b, c);
  named_barrier_sync(1, 64);
  sync_warp();
  float v = fma(d[0], d[1], shfl(d[2], 3) + shfl_xor(d[3], 1) + shfl_down(d[0], 2));
  v += any(v > 0) + all(v > 1) + float(ballot(v > 2) & 1);
  s.st(8 * t, f32_to_bf16(v));
  atomic_add(f, bf16_to_f32(s.ld(8 * t)));
  atomic_add(i, int(warp_id()));
  atomic_add(u, block_idx().x + block_dim().x + grid_dim().x + thread_idx().x);
}

}  // namespace mt::dev
