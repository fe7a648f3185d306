// Direct (single-copy) transfers for large messages: a rank reads its peers' buffers with
// process_vm_readv (Linux cross-memory attach) instead of receiving pieces staged through the
// slots. Staging costs two copies per byte (the sender's into the slot, the receiver's out of
// it), each about as expensive as a memcpy on these CPUs, so a staged ring moves at most half of
// a memcpy's bytes per second; one kernel copy moves ~90% (measured: bench/collectives.ts).
//
// Protocol per call: every rank publishes the address peers read (RankInfo::direct_addr) and
// meets the others at a barrier, where the call indices and signatures are compared; then each
// rank reads what it needs; a second barrier keeps every buffer unchanged until all reads are
// done. The sums use the ring's order, so a result has the same bits whichever path ran:
// chunk c = ((x[c+1] + x[c+2]) + ...) + x[c] in fp32.
#include <errno.h>
#include <sys/prctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "comm_internal.h"
#include "communicator.h"

namespace mt::comm {

namespace {

// The probe word other ranks read at attach.
volatile uint64_t g_probe_word = 0x6d6f6f6e74726169ull;

// process_vm_readv moves at most this much per call (so abort and liveness are checked between).
constexpr size_t kDirectPiece = size_t(4) << 20;
// Reduce-scatter reads a peer's piece into a buffer that stays in L2.
constexpr int64_t kReducePiece = 131072;  // elements


}  // namespace

void Communicator::probe_direct(bool wanted) {
  if (size_ == 1) return;
  // Let the peers read us even under Yama ptrace_scope 1 (which allows only ancestors), as Open
  // MPI's CMA transport does. Only when direct transfers are wanted (options.direct).
#ifdef PR_SET_PTRACER
  if (wanted) prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY, 0, 0, 0);
#endif
  RankInfo& me = rank_info(rank_);
  me.probe_addr.store(reinterpret_cast<uint64_t>(&g_probe_word), std::memory_order_release);
  barrier_inner("Communicator");
  bool ok = wanted;
  if (ok) {
    const int q = (rank_ + 1) % size_;
    uint64_t value = 0;
    iovec local{&value, sizeof value};
    iovec remote{reinterpret_cast<void*>(rank_info(q).probe_addr.load(std::memory_order_acquire)), sizeof value};
    ok = process_vm_readv(rank_info(q).pid.load(), &local, 1, &remote, 1, 0) == static_cast<ssize_t>(sizeof value) &&
         value == g_probe_word;
  }
  me.direct_ok.store(ok ? 1 : 0, std::memory_order_release);
  barrier_inner("Communicator");
  bool all = true;
  for (int q = 0; q < size_; ++q) all = all && rank_info(q).direct_ok.load(std::memory_order_acquire) == 1;
  direct_ok_ = all;
  barrier_inner("Communicator");  // nobody reads the flags after this
}

void Communicator::direct_begin(const char* op, const void* addr) {
  RankInfo& me = rank_info(rank_);
  me.direct_addr.store(reinterpret_cast<uint64_t>(addr), std::memory_order_release);
  barrier_inner(op);
  const uint64_t call = me.call.load(std::memory_order_relaxed);
  const uint64_t sig = me.call_signature.load(std::memory_order_relaxed);
  for (int q = 0; q < size_; ++q) {
    if (q == rank_) continue;
    RankInfo& ri = rank_info(q);
    const uint64_t c = ri.call.load(std::memory_order_acquire);
    if (c != call || ri.call_signature.load(std::memory_order_acquire) != sig) {
      const std::string theirs = coll_op_name(static_cast<CollOp>(c & 0xff));
      const std::string mine = coll_op_name(static_cast<CollOp>(call & 0xff));
      fail_kind(op, q,
                "collective mismatch: rank " + std::to_string(q) + " is in its call #" + std::to_string(c >> 8) + ", " + theirs +
                    ", while rank " + std::to_string(rank_) + " is in its call #" + std::to_string(call >> 8) + ", " + mine +
                    (theirs == mine && (c >> 8) == (call >> 8) ? " with other arguments" : ""),
                true, kAbortMismatch);
    }
  }
}

void Communicator::direct_end(const char* op) { barrier_inner(op); }

void Communicator::read_peer(const char* op, int q, void* local, uint64_t remote, size_t bytes) {
  const int pid = rank_info(q).pid.load(std::memory_order_relaxed);
  char* dst = static_cast<char*>(local);
  while (bytes > 0) {
    const size_t n = std::min(bytes, kDirectPiece);
    iovec l{dst, n};
    iovec r{reinterpret_cast<void*>(remote), n};
    const ssize_t got = process_vm_readv(pid, &l, 1, &r, 1, 0);
    if (got <= 0) {
      const int e = errno;
      last_check_ns_ = 0;
      check_failures(op);  // a dead peer is the likely cause: report that
      fail(op, q, "cannot read rank " + std::to_string(q) + "'s memory (process_vm_readv: " + std::strerror(got == 0 ? EIO : e) + ")", true);
    }
    dst += got;
    remote += static_cast<uint64_t>(got);
    bytes -= static_cast<size_t>(got);
    check_failures(op);
  }
}

void Communicator::direct_all_gather(const char* op, const char* in, char* out, DType dtype, const std::vector<int64_t>& counts,
                                     uint64_t* counter) {
  const size_t esz = dtype_size(dtype);
  std::vector<int64_t> d(counts.size() + 1, 0);
  for (size_t i = 0; i < counts.size(); ++i) d[i + 1] = d[i] + counts[i];
  char* own = out + static_cast<size_t>(d[rank_]) * esz;
  direct_begin(op, in);
  // Peers in ring order from the next one, so the ranks spread their reads over the sources.
  for (int s = 1; s < size_; ++s) {
    const int q = (rank_ + s) % size_;
    const size_t bytes = static_cast<size_t>(counts[q]) * esz;
    if (bytes) read_peer(op, q, out + static_cast<size_t>(d[q]) * esz, rank_info(q).direct_addr.load(std::memory_order_acquire), bytes);
  }
  if (own != in && counts[rank_]) {
    const bool stream = static_cast<size_t>(d[size_]) * esz >= streaming_min_bytes();
    (stream ? copy_streaming : copy_cached)(own, in, static_cast<size_t>(counts[rank_]) * esz);
  }
  direct_end(op);
  *counter += static_cast<uint64_t>(size_ - 1) * static_cast<uint64_t>(counts[rank_]) * esz;
}

void Communicator::direct_reduce_scatter(const char* op, const char* in, char* out, DType dtype, const std::vector<int64_t>& counts,
                                         uint64_t* counter) {
  const size_t esz = dtype_size(dtype);
  std::vector<int64_t> d(counts.size() + 1, 0);
  for (size_t i = 0; i < counts.size(); ++i) d[i + 1] = d[i] + counts[i];
  direct_begin(op, in);
  const int64_t n = counts[rank_];
  const char* own = in + static_cast<size_t>(d[rank_]) * esz;
  // (Measured worse out of place: the sums built in `out` itself, as the kernel's copy into it
  // reads each line first, -3 points; CLZERO before cached stores, -13.)
  const bool stream = stream_final_sums(out, own, static_cast<size_t>(n) * esz);
  acc_.resize(static_cast<size_t>(kReducePiece));
  staging_.resize(static_cast<size_t>(kReducePiece) * esz);
  for (int64_t off = 0; off < n; off += kReducePiece) {
    const int64_t len = std::min(kReducePiece, n - off);
    const uint64_t at = static_cast<uint64_t>(d[rank_] + off) * esz;
    float* acc = acc_.data();
    // Ring order: x[r+1], + x[r+2], ..., + x[r] (this rank's own, last).
    for (int s = 1; s < size_; ++s) {
      const int q = (rank_ + s) % size_;
      const uint64_t remote = rank_info(q).direct_addr.load(std::memory_order_acquire) + at;
      if (s == 1 && dtype == DType::F32) {
        read_peer(op, q, acc, remote, static_cast<size_t>(len) * esz);  // f32: straight into the sums
        continue;
      }
      read_peer(op, q, staging_.data(), remote, static_cast<size_t>(len) * esz);
      if (s == 1) widen_to_f32(acc, staging_.data(), dtype, len);
      else add_partial(acc, acc, staging_.data(), dtype, len);
    }
    (stream ? add_final_streaming : add_final)(out + static_cast<size_t>(off) * esz, acc, own + static_cast<size_t>(off) * esz, dtype, len);
  }
  direct_end(op);
  uint64_t sent = 0;
  for (int q = 0; q < size_; ++q)
    if (q != rank_) sent += static_cast<uint64_t>(counts[q]) * esz;
  *counter += sent;
}

void Communicator::direct_broadcast(const char* op, char* data, size_t bytes, int root, uint64_t* counter) {
  direct_begin(op, data);
  if (rank_ != root) read_peer(op, root, data, rank_info(root).direct_addr.load(std::memory_order_acquire), bytes);
  direct_end(op);
  if (rank_ == root) *counter += static_cast<uint64_t>(size_ - 1) * bytes;
}

}  // namespace mt::comm
