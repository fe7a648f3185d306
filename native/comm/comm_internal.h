// Helpers shared by the communicator's files: the clock and the data kernels of the ring.
#pragma once
#include <cstddef>
#include <cstdint>

#include "../core/dtype.h"

namespace mt::comm {

// CLOCK_MONOTONIC in ns (system-wide, so comparable between processes).
uint64_t now_ns();

// Outputs of at least this many bytes are written with non-temporal stores: 8 MiB, or
// MOONTRAIN_COMM_STREAMING_BYTES (read once; the tests lower it to cover both code paths).
size_t streaming_min_bytes();
// Whether the final sums of a reduce-scatter go out with non-temporal stores: large outputs,
// except in place, where the output lines were just read (cached stores measured 5-7 points
// faster there).
bool stream_final_sums(const void* out, const void* own, size_t bytes);

// Plain copy (into a slot: we want it to stay in cache for the next rank).
void copy_cached(void* dst, const void* src, size_t bytes);
// Copy with non-temporal stores for the destination (a large output nobody reads soon).
void copy_streaming(void* dst, const void* src, size_t bytes);

// dst[i] = float(src[i]).
void widen_to_f32(float* dst, const void* src, DType dtype, int64_t n);
// dst[i] = partial[i] + float(x[i]) (fp32 partial sums travelling the ring).
void add_partial(float* dst, const float* partial, const void* x, DType dtype, int64_t n);
// out[i] = round_to_dtype(partial[i] + float(x[i])) (the last hop of a chunk).
void add_final(void* out, const float* partial, const void* x, DType dtype, int64_t n);
// The same with non-temporal stores (a large output nobody reads soon); same bits.
void add_final_streaming(void* out, const float* partial, const void* x, DType dtype, int64_t n);

}  // namespace mt::comm
