// The device layer under g++: the CPU emulator. emu::launch runs a kernel's blocks one after
// another; inside a block every CUDA thread is a fiber that runs until it blocks (a barrier, a
// warp collective), so a block's threads interleave only at those points. Warp collectives
// (shuffles, votes, ldmatrix, mma.sync) gather all 32 lanes' operands and compute once, from the
// maps in fragments.h. The emulator checks what the hardware would not forgive and throws
// emu::Error naming the kernel and the block:
//   - a barrier not reached by every thread (a thread exited, or threads wait at different
//     sync_block call sites);
//   - a shared-memory byte read (or written) by one thread after another wrote (or read) it with
//     no barrier between (the offset and both threads);
//   - data of a cp.async read before the issuing thread's cp_async_wait covered it;
//   - shared-memory accesses outside the launch's bytes, misaligned ldmatrix / cp.async addresses.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>

#define MT_DEVICE inline

namespace mt::emu {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct LaunchStats {
  uint64_t blocks = 0, switches = 0, collectives = 0;
};

// Runs body() as every thread of every block of grid x block, with smem_bytes of dynamic shared
// memory per block. Throws Error on the first defect found.
LaunchStats launch(const char* kernel, dev::Dim3 grid, dev::Dim3 block, size_t smem_bytes, const std::function<void()>& body);

// ---- used by the device layer below ----
struct Here {
  const char* file;
  int line;
};
dev::Dim3 thread_idx();
dev::Dim3 block_idx();
dev::Dim3 block_dim();
dev::Dim3 grid_dim();
unsigned thread_rank();
void barrier(unsigned id, unsigned threads, bool block_wide, Here at);
unsigned char* shared_base();
void on_shared_read(const void* p, size_t bytes);
void on_shared_write(const void* p, size_t bytes);
// Warp collectives: in/out are 64-bit slots per lane.
enum class Collective { Shfl, Ballot, Ldmatrix1, Ldmatrix2, Ldmatrix4, Ldmatrix1T, Ldmatrix2T, Ldmatrix4T, Mma, SyncWarp };
void collective(Collective kind, const uint64_t* in, int nin, uint64_t* out, int nout, Here at);
void cp_async(void* smem, const void* gmem, int bytes, int src_bytes, Here at);
void cp_async_commit();
void cp_async_wait(int n);

}  // namespace mt::emu

namespace mt::dev {

#define MT_EMU_HERE ::mt::emu::Here at = {__builtin_FILE(), __builtin_LINE()}

inline Dim3 thread_idx() { return emu::thread_idx(); }
inline Dim3 block_idx() { return emu::block_idx(); }
inline Dim3 block_dim() { return emu::block_dim(); }
inline Dim3 grid_dim() { return emu::grid_dim(); }
inline unsigned thread_rank() { return emu::thread_rank(); }
inline unsigned lane_id() { return thread_rank() & 31; }
inline unsigned warp_id() { return thread_rank() >> 5; }

inline void sync_block(MT_EMU_HERE) { emu::barrier(0, 0, true, at); }
inline void named_barrier_sync(unsigned id, unsigned threads, MT_EMU_HERE) { emu::barrier(id, threads, false, at); }

// __syncwarp(): the warp's lanes meet, and their shared-memory accesses are ordered.
inline void sync_warp(MT_EMU_HERE) {
  const uint64_t in = 0;
  uint64_t out;
  emu::collective(emu::Collective::SyncWarp, &in, 1, &out, 1, at);
}

template <class T>
inline uint64_t to_slot(T v) {
  static_assert(sizeof(T) <= 8, "a shuffled value fits 64 bits");
  uint64_t u = 0;
  __builtin_memcpy(&u, &v, sizeof(T));
  return u;
}
template <class T>
inline T from_slot(uint64_t u) {
  T v;
  __builtin_memcpy(&v, &u, sizeof(T));
  return v;
}
template <class T>
inline T shfl(T v, int src_lane, MT_EMU_HERE) {
  const uint64_t in[2] = {to_slot(v), uint64_t(src_lane & 31)};
  uint64_t out;
  emu::collective(emu::Collective::Shfl, in, 2, &out, 1, at);
  return from_slot<T>(out);
}
template <class T>
inline T shfl_xor(T v, int lane_mask, MT_EMU_HERE) { return shfl(v, int(lane_id()) ^ lane_mask, at); }
template <class T>
inline T shfl_down(T v, unsigned delta, MT_EMU_HERE) {
  const unsigned src = lane_id() + delta;
  return shfl(v, int(src < 32 ? src : lane_id()), at);
}
inline unsigned ballot(bool p, MT_EMU_HERE) {
  const uint64_t in = p;
  uint64_t out;
  emu::collective(emu::Collective::Ballot, &in, 1, &out, 1, at);
  return unsigned(out);
}
inline bool any(bool p, MT_EMU_HERE) { return ballot(p, at) != 0; }
inline bool all(bool p, MT_EMU_HERE) { return ballot(p, at) == 0xffffffffu; }

inline float fma(float a, float b, float c) { return __builtin_fmaf(a, b, c); }

// Fibers of one block never run at the same time, so a read-modify-write is atomic.
template <class T>
inline T atomic_add(T* p, T v) {
  const T old = *p;
  *p = old + v;
  return old;
}

template <class T>
struct Smem {
  T* p;
  T ld(int i) const {
    emu::on_shared_read(p + i, sizeof(T));
    return p[i];
  }
  void st(int i, T v) const {
    emu::on_shared_write(p + i, sizeof(T));
    p[i] = v;
  }
  T* at(int i) const { return p + i; }
};
template <class T>
inline Smem<T> shared_at(size_t byte_offset) {
  return {reinterpret_cast<T*>(emu::shared_base() + byte_offset)};
}

template <int N, bool Trans>
inline void ldmatrix(uint32_t* r, const void* row, MT_EMU_HERE) {
  static_assert(N == 1 || N == 2 || N == 4, "ldmatrix loads 1, 2 or 4 matrices");
  using C = emu::Collective;
  const C kind = N == 1 ? (Trans ? C::Ldmatrix1T : C::Ldmatrix1) : N == 2 ? (Trans ? C::Ldmatrix2T : C::Ldmatrix2) : (Trans ? C::Ldmatrix4T : C::Ldmatrix4);
  const uint64_t in = reinterpret_cast<uintptr_t>(row);
  uint64_t out[4];
  emu::collective(kind, &in, 1, out, N, at);
  for (int j = 0; j < N; ++j) r[j] = uint32_t(out[j]);
}

inline void mma_bf16_16816(float* d, const uint32_t* a, const uint32_t* b, const float* c, MT_EMU_HERE) {
  uint64_t in[10], out[4];
  for (int i = 0; i < 4; ++i) in[i] = a[i];
  for (int i = 0; i < 2; ++i) in[4 + i] = b[i];
  for (int i = 0; i < 4; ++i) in[6 + i] = f32_to_bits(c[i]);
  emu::collective(emu::Collective::Mma, in, 10, out, 4, at);
  for (int i = 0; i < 4; ++i) d[i] = bits_to_f32(uint32_t(out[i]));
}

inline void cp_async_16(void* smem, const void* gmem, int src_bytes, MT_EMU_HERE) { emu::cp_async(smem, gmem, 16, src_bytes, at); }
inline void cp_async_commit() { emu::cp_async_commit(); }
template <int N>
inline void cp_async_wait() { emu::cp_async_wait(N); }

}  // namespace mt::dev
