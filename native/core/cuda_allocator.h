// Device memory for CUDA tensors: a stream-ordered caching allocator over cudaMalloc
// (native/cuda/allocator.cu). A freed block returns to the free list of the stream it was last
// used on and is handed out again only for work on that stream, so reuse needs no
// synchronisation: work queued later on the stream runs after the block's last use. Builds
// without CUDA (native/core/no_cuda.cc) throw a RuntimeError saying so.
#pragma once
#include <cstddef>

namespace mt {

using CudaStream = void*;  // cudaStream_t; null is the default stream

void* cuda_alloc(size_t bytes, CudaStream stream = nullptr);
void cuda_free(void* p, size_t bytes, CudaStream stream = nullptr);
void cuda_zero(void* p, size_t bytes, CudaStream stream = nullptr);
// Synchronous copies between host and device memory (dst and src do not overlap).
void cuda_copy(void* dst, const void* src, size_t bytes, bool dst_on_device, bool src_on_device);
// Bytes held in the free lists; release returns them to the driver (synchronising the device).
size_t cuda_cached_bytes();
void cuda_release_cache();

}  // namespace mt
