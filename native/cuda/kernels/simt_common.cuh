// What the SIMT kernels (everything but the GEMMs) share: element conversions, grid-stride
// loops and fixed-order block reductions. Element types are float and uint16_t (bf16 bits);
// arithmetic is in float (double where the CPU kernels use double), bf16 results rounded to
// nearest even as on the CPU.
#pragma once

#include <cmath>
#include <cstdint>

#include "../device/device.cuh"

namespace mt::kern {

MT_HD float to_f32(float v) { return v; }
MT_HD float to_f32(uint16_t v) { return dev::bf16_to_f32(v); }
template <class T>
MT_HD T from_f32(float v);
template <>
MT_HD float from_f32<float>(float v) { return v; }
template <>
MT_HD uint16_t from_f32<uint16_t>(float v) { return dev::f32_to_bf16(v); }

// Elementwise kernels: blocks of kThreads, a grid-stride loop over at most kMaxBlocks blocks.
struct Elementwise {
  static constexpr int kThreads = 256;
  static constexpr unsigned kMaxBlocks = 4096;
  static dev::Dim3 grid(int64_t n) {
    const int64_t b = (n + kThreads - 1) / kThreads;
    return {unsigned(b < 1 ? 1 : b > kMaxBlocks ? kMaxBlocks : b), 1, 1};
  }
  static dev::Dim3 block() { return {kThreads, 1, 1}; }
};

MT_DEVICE float sigmoid(float g) { return 1.0f / (1.0f + expf(-g)); }

MT_DEVICE int64_t global_index() { return int64_t(dev::block_idx().x) * dev::block_dim().x + dev::thread_idx().x; }
MT_DEVICE int64_t grid_stride() { return int64_t(dev::grid_dim().x) * dev::block_dim().x; }

// Row kernels (one block per row): kThreads threads, each striding over the row.
struct RowBlock {
  static constexpr int kThreads = 128;
  static constexpr size_t kSmemBytes = kThreads * sizeof(double);
  static dev::Dim3 block() { return {kThreads, 1, 1}; }
};

struct SumOp {
  template <class T>
  MT_HD T operator()(T a, T b) const { return a + b; }
};
struct MaxOp {
  MT_HD float operator()(float a, float b) const { return a > b ? a : b; }
};

// Combines every thread's v over a block of N threads (a power of two) by a tree in shared memory
// s (N values): the same order on every run, no atomics. Every thread gets the result; s is free
// again on return.
template <int N, class T, class Op>
MT_DEVICE T block_reduce(dev::Smem<T> s, T v, Op op) {
  static_assert((N & (N - 1)) == 0, "a power-of-two block");
  const int tid = int(dev::thread_rank());
  s.st(tid, v);
  dev::sync_block();
  for (int w = N / 2; w > 0; w >>= 1) {
    if (tid < w) s.st(tid, op(s.ld(tid), s.ld(tid + w)));
    dev::sync_block();
  }
  const T r = s.ld(0);
  dev::sync_block();
  return r;
}

}  // namespace mt::kern
