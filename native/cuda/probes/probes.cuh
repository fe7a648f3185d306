// Probe kernels: they record where the elements of ldmatrix and mma.sync fragments really land.
// Run on a GPU (probe_main.cu) they give test/fixtures/cuda-probes.json; run on the emulator they
// must give the same file, bit for bit (test/cuda/emu_tests.cc).
#pragma once

#include "../device/device.cuh"

namespace mt::probe {

// ldmatrix: shared memory holds a 32 x 8 b16 tile whose element i has the value i; lane l gives the
// address of tile row l (rows 8j..8j+7 are matrix j). out[lane * 4 + j] = the lane's register j.
constexpr int kLdmatrixWords = 32 * 4;
constexpr size_t kLdmatrixSmem = 32 * 8 * sizeof(uint16_t);

template <int N, bool Trans>
MT_DEVICE void ldmatrix_body(uint32_t* out) {
  const int lane = int(dev::lane_id());
  const dev::Smem<uint16_t> tile = dev::shared_at<uint16_t>(0);
  for (int i = lane; i < 32 * 8; i += 32) tile.st(i, uint16_t(i));
  dev::sync_block();
  uint32_t r[4] = {0, 0, 0, 0};
  dev::ldmatrix<N, Trans>(r, tile.at(lane * 8));
  for (int j = 0; j < 4; ++j) out[lane * 4 + j] = r[j];
}

// mma.sync m16n8k16: two families of runs, each one mma by one warp, out[run * 128 + lane * 4 + i]
// = the lane's D element i.
//   a_hot run e (0..255): A is zero but for element e % 8 of lane e / 8, which is 1; B element i of
//     lane l is 1 + 4l + i (exact in bf16); C is zero. D's nonzero row names A's row, and its
//     values name the B elements that meet A's element in k.
//   c_hot run e (0..127): A and B zero, C zero but for element e % 4 of lane e / 4, which is 1.
constexpr int kMmaAHot = 256, kMmaCHot = 128, kMmaRuns = kMmaAHot + kMmaCHot;

MT_DEVICE void mma_body(float* out) {
  const int lane = int(dev::lane_id());
  const uint16_t one = dev::f32_to_bf16(1.f);
  for (int run = 0; run < kMmaRuns; ++run) {
    uint32_t a[4] = {0, 0, 0, 0}, b[2] = {0, 0};
    float c[4] = {0.f, 0.f, 0.f, 0.f}, d[4];
    if (run < kMmaAHot) {
      if (run / 8 == lane) a[(run % 8) / 2] = uint32_t(one) << (16 * (run % 2));
      for (int i = 0; i < 2; ++i)
        b[i] = dev::pack_bf16x2(dev::f32_to_bf16(float(1 + 4 * lane + 2 * i)), dev::f32_to_bf16(float(2 + 4 * lane + 2 * i)));
    } else {
      const int e = run - kMmaAHot;
      if (e / 4 == lane) c[e % 4] = 1.f;
    }
    dev::mma_bf16_16816(d, a, b, c);
    for (int i = 0; i < 4; ++i) out[run * 128 + lane * 4 + i] = d[i];
  }
}

}  // namespace mt::probe
