// The device layer under nvcc: CUDA intrinsics and inline PTX (sm_80 and newer).
#pragma once

#define MT_DEVICE __device__ __forceinline__

namespace mt::dev {

MT_DEVICE Dim3 thread_idx() { return {threadIdx.x, threadIdx.y, threadIdx.z}; }
MT_DEVICE Dim3 block_idx() { return {blockIdx.x, blockIdx.y, blockIdx.z}; }
MT_DEVICE Dim3 block_dim() { return {blockDim.x, blockDim.y, blockDim.z}; }
MT_DEVICE Dim3 grid_dim() { return {gridDim.x, gridDim.y, gridDim.z}; }
MT_DEVICE unsigned thread_rank() { return threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z); }
MT_DEVICE unsigned lane_id() { return thread_rank() & 31; }
MT_DEVICE unsigned warp_id() { return thread_rank() >> 5; }

MT_DEVICE void sync_block() { __syncthreads(); }
MT_DEVICE void sync_warp() { __syncwarp(); }
// bar.sync id, threads: the first `threads` (a multiple of 32) threads to arrive at barrier `id`.
MT_DEVICE void named_barrier_sync(unsigned id, unsigned threads) {
  asm volatile("bar.sync %0, %1;" ::"r"(id), "r"(threads) : "memory");
}

template <class T>
MT_DEVICE T shfl(T v, int src_lane) { return __shfl_sync(0xffffffffu, v, src_lane); }
template <class T>
MT_DEVICE T shfl_xor(T v, int lane_mask) { return __shfl_xor_sync(0xffffffffu, v, lane_mask); }
template <class T>
MT_DEVICE T shfl_down(T v, unsigned delta) { return __shfl_down_sync(0xffffffffu, v, delta); }
MT_DEVICE unsigned ballot(bool p) { return __ballot_sync(0xffffffffu, p); }
MT_DEVICE bool any(bool p) { return __any_sync(0xffffffffu, p); }
MT_DEVICE bool all(bool p) { return __all_sync(0xffffffffu, p); }

MT_DEVICE float fma(float a, float b, float c) { return __fmaf_rn(a, b, c); }

MT_DEVICE float atomic_add(float* p, float v) { return atomicAdd(p, v); }
MT_DEVICE int atomic_add(int* p, int v) { return atomicAdd(p, v); }
MT_DEVICE unsigned atomic_add(unsigned* p, unsigned v) { return atomicAdd(p, v); }

template <class T>
struct Smem {
  T* p;
  MT_DEVICE T ld(int i) const { return p[i]; }
  MT_DEVICE void st(int i, T v) const { p[i] = v; }
  MT_DEVICE T* at(int i) const { return p + i; }
};
// Dynamic shared memory (the launch's byte count), 128-byte aligned.
template <class T>
MT_DEVICE Smem<T> shared_at(size_t byte_offset) {
  extern __shared__ __align__(128) unsigned char mt_dynamic_smem[];
  return {reinterpret_cast<T*>(mt_dynamic_smem + byte_offset)};
}

MT_DEVICE unsigned smem_address(const void* p) { return static_cast<unsigned>(__cvta_generic_to_shared(p)); }

// ldmatrix.sync.aligned.m8n8.x{N}[.trans].shared.b16: `row` is this lane's row address.
template <int N, bool Trans>
MT_DEVICE void ldmatrix(uint32_t* r, const void* row) {
  const unsigned a = smem_address(row);
  if constexpr (N == 1 && !Trans) asm volatile("ldmatrix.sync.aligned.m8n8.x1.shared.b16 {%0}, [%1];" : "=r"(r[0]) : "r"(a));
  if constexpr (N == 1 && Trans) asm volatile("ldmatrix.sync.aligned.m8n8.x1.trans.shared.b16 {%0}, [%1];" : "=r"(r[0]) : "r"(a));
  if constexpr (N == 2 && !Trans)
    asm volatile("ldmatrix.sync.aligned.m8n8.x2.shared.b16 {%0, %1}, [%2];" : "=r"(r[0]), "=r"(r[1]) : "r"(a));
  if constexpr (N == 2 && Trans)
    asm volatile("ldmatrix.sync.aligned.m8n8.x2.trans.shared.b16 {%0, %1}, [%2];" : "=r"(r[0]), "=r"(r[1]) : "r"(a));
  if constexpr (N == 4 && !Trans)
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(a));
  if constexpr (N == 4 && Trans)
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(a));
}

// mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32: d = a * b + c (fragments: fragments.h).
MT_DEVICE void mma_bf16_16816(float* d, const uint32_t* a, const uint32_t* b, const float* c) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
      "{%10, %11, %12, %13};"
      : "=f"(d[0]), "=f"(d[1]), "=f"(d[2]), "=f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]), "f"(c[0]), "f"(c[1]), "f"(c[2]), "f"(c[3]));
}

// cp.async.cg.shared.global, 16 bytes: copies src_bytes (0..16) and zero-fills the rest.
MT_DEVICE void cp_async_16(void* smem, const void* gmem, int src_bytes) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;" ::"r"(smem_address(smem)), "l"(gmem), "r"(src_bytes) : "memory");
}
MT_DEVICE void cp_async_commit() { asm volatile("cp.async.commit_group;" ::: "memory"); }
// Waits until at most N of this thread's committed groups are still in flight.
template <int N>
MT_DEVICE void cp_async_wait() {
  asm volatile("cp.async.wait_group %0;" ::"n"(N) : "memory");
}

}  // namespace mt::dev

// A kernel: the __global__ entry that runs a body (a callable) from native/cuda/kernels.
#define MT_KERNEL_ENTRY(name, Body, Params) \
  __global__ void name(Params p) { Body(p); }
