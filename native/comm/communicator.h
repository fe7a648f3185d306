// A communicator for the ranks of one job on one host: one OS process per rank, talking through
// a POSIX shared-memory segment `/moontrain-<job>` (layout in shm_layout.h).
//
// Collectives run on a ring, NCCL style: rank r sends to (r+1) % size through that rank's
// incoming channel, whose few pipeline slots carry one piece (up to slot_bytes) of data each,
// signalled by sequence numbers (release/acquire atomics). Every call is synchronous and uses
// only the calling thread.
//
// Reduction order (results are bit-reproducible, independent of timing and thread counts):
//   reduce-scatter, allReduce: element i of chunk c (the chunk rank c keeps) is summed in ring
//   order starting at the next rank: ((x[c+1] + x[c+2]) + ...) + x[c] (indices mod size), in
//   fp32 (bf16 inputs are widened; partial sums travel as fp32 and are rounded to bf16 once, at
//   the end). Every rank receives the same bits.
//   allReduceNumbers: in double, in rank order 0, 1, ..., size-1, on every rank.
//
// Waiting: a short spin with pause, then FUTEX_WAIT (50 ms timeouts) on the word, woken by the
// writer. Between sleeps a waiter checks the abort word and every peer's liveness (process gone,
// zombie, exited, closed, or heartbeat older than heartbeat_timeout) and fails with an error that
// names the rank; the first rank to see a failure records it in the abort word, so all ranks
// report the same one. Every wait is bounded by op_timeout.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "../core/dtype.h"
#include "../core/error.h"
#include "collectives.h"
#include "shm_layout.h"

namespace mt::comm {

// A failure of the job (a dead or failed peer, an abort, a timeout, mismatched calls).
struct CommError : RuntimeError {
  int failed_rank;  // the rank at fault, or -1 when unknown (timeout)
  CommError(const std::string& op, const std::string& code, const std::string& what, int rank)
      : RuntimeError(op, code, what), failed_rank(rank) {}
};

enum class CollOp : uint32_t { AllGather = 1, ReduceScatter = 2, AllReduce = 3, Broadcast = 4, Barrier = 5, AllReduceNumbers = 6 };
const char* coll_op_name(CollOp op);

struct Options {
  double connect_timeout_s = 60;   // how long ranks wait for each other to attach
  double op_timeout_s = 600;       // the longest any one wait may take
  double heartbeat_timeout_s = 5;  // a peer whose heartbeat is older counts as dead
  size_t slot_bytes = 512 * 1024;  // rank 0's choice; the others read it from the segment
  int slots = 4;
  int spin = 2000;                 // pause iterations before sleeping
  // With more ranks than CPUs: at most this many pauses, then up to `yields` sched_yield()s
  // (the rank we wait for may need this CPU), then sleep.
  int spin_oversubscribed = 100;
  int yields = 200;
  // Single-copy transfers for large messages: peers read each other's buffers with
  // process_vm_readv (cross-memory attach), as NCCL's P2P direct mode reads through IPC
  // pointers. Used when every rank can (probed at attach) and the largest chunk has at least
  // direct_min_bytes; otherwise (and always for small messages) the slot ring.
  bool direct = true;
  size_t direct_min_bytes = 1024 * 1024;
  // With more ranks than CPUs the staged ring is faster (a slot written by one rank is still in
  // the cache of the CPU the next rank then runs on), so direct is off unless this is set.
  bool direct_when_oversubscribed = false;
};

// The shm segment name for a job ("/moontrain-<job>").
std::string segment_name(const std::string& job);
// Removes a leftover segment of this job whose creator process is gone; true when one was removed.
bool cleanup_stale(const std::string& job);
// Asks the kernel to send `sig` to this process when its parent dies (launch() children).
void set_parent_death_signal(int sig);

class Communicator : public Collectives {
 public:
  Communicator(const std::string& job, int rank, int size, const Options& options);
  ~Communicator() override;
  Communicator(const Communicator&) = delete;
  Communicator& operator=(const Communicator&) = delete;

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  const std::string& job() const override { return job_; }
  size_t slot_bytes() const { return slot_bytes_; }
  int slots() const { return slots_; }
  // Whether large messages go the direct (process_vm_readv) way in this job.
  bool direct_enabled() const { return direct_ok_; }

  // out holds sum(counts) elements; rank r's counts[r] elements land at offset sum(counts[<r]).
  // in == out + that offset means in place (nothing to copy locally).
  void all_gather_v(const void* in, void* out, DType dtype, const std::vector<int64_t>& counts) override;
  // in holds sum(counts) elements; out (counts[rank] elements) gets the sum over ranks of this
  // rank's slice. out == in + the slice's offset means in place (only that slice is written).
  void reduce_scatter_v(const void* in, void* out, DType dtype, const std::vector<int64_t>& counts) override;
  // In place: reduce-scatter over an even partition, then all-gather.
  void all_reduce(void* data, DType dtype, int64_t n) override;
  // In place: root's data to every rank, pipelined along the ring from root.
  void broadcast(void* data, DType dtype, int64_t n, int root) override;
  void barrier() override;
  // In place, in double, in rank order.
  void all_reduce_numbers(double* values, int64_t n, NumbersOp op) override;

  ByteCounters bytes() const override { return bytes_; }
  void reset_bytes() override { bytes_ = ByteCounters{}; }

  // Marks the job failed so every rank's next wait throws (the reason names this rank).
  void abort(const std::string& reason) override;
  // Detaches: marks this rank closed, stops the heartbeat, unmaps. Idempotent.
  void close() override;
  // Records that this process is exiting with `code` (peers then fail at once, naming this rank).
  void mark_exiting(int code) override;
  bool closed() const override { return base_ == nullptr; }
  const Communicator* as_ring() const override { return this; }

  // The partition allReduce uses: n split into size chunks, the first n % size one element longer.
  static std::vector<int64_t> even_counts(int64_t n, int size);

 private:
  friend struct RingCall;
  Header* header() const { return reinterpret_cast<Header*>(base_); }
  RankInfo& rank_info(int r) const;
  double* scratch(int r) const;
  Channel& channel(int c) const;
  char* slot_data(int c, int k) const;

  void attach(const Options& options);
  void create_segment(const std::string& name, const Options& options);
  void open_segment(const std::string& name, uint64_t start_ns, double connect_s);
  void claim_rank();
  void wait_for_ranks(const std::string& name, uint64_t start_ns, double connect_s);
  void start_heartbeat();
  void stop_heartbeat();

  // Throws when the job has failed (abort word, a dead peer, diverged calls); op names the caller.
  // still_waiting (optional) re-reads what the caller waits for: a peer that closed or exited
  // after providing it is not a failure.
  void check_failures(const char* op, const std::function<bool(uint32_t)>* ok = nullptr, FutexWord* word = nullptr);
  // Throws CommError; with record, first writes the failure into the abort word (unless another
  // rank did first: then that one is reported).
  [[noreturn]] void fail(const char* op, int failed_rank, const std::string& reason, bool record);
  [[noreturn]] void fail_kind(const char* op, int failed_rank, const std::string& reason, bool record, uint32_t kind);
  void wake_all();
  void check_usable(const char* op);
  // Publishes which collective this rank is in (for the mismatch check).
  void begin_call(CollOp op, uint64_t signature);
  void barrier_inner(const char* op);

  // Direct transfers (direct.cc).
  void probe_direct(bool wanted);
  bool use_direct(size_t largest_chunk_bytes) const { return direct_ok_ && largest_chunk_bytes >= direct_min_bytes_; }
  // Publishes `addr` for this call, waits for every rank, checks they are all in the same call.
  void direct_begin(const char* op, const void* addr);
  // Waits until every rank has finished reading (so buffers may change again).
  void direct_end(const char* op);
  // Reads `bytes` at `remote` (an address in rank q's process) into `local`.
  void read_peer(const char* op, int q, void* local, uint64_t remote, size_t bytes);
  void direct_all_gather(const char* op, const char* in, char* out, DType dtype, const std::vector<int64_t>& counts, uint64_t* counter);
  void direct_reduce_scatter(const char* op, const char* in, char* out, DType dtype, const std::vector<int64_t>& counts,
                             uint64_t* counter);
  void direct_broadcast(const char* op, char* data, size_t bytes, int root, uint64_t* counter);

  using WaitPredicate = std::function<bool(uint32_t)>;
  // Waits until ok(word) holds. `peer` is the rank whose action we wait for (for the timeout message).
  template <typename Ok>
  uint32_t wait_word(FutexWord& w, Ok ok, const char* op, int peer, const char* what) {
    const uint32_t v = w.value.load(std::memory_order_acquire);
    if (ok(v)) return v;
    return wait_word_slow(w, WaitPredicate(ok), op, peer, what);
  }
  uint32_t wait_word_slow(FutexWord& w, const WaitPredicate& ok, const char* op, int peer, const char* what);
  void post_word(FutexWord& w, uint32_t value);

  std::string job_;
  int rank_ = 0, size_ = 1;
  bool creator_ = false;
  char* base_ = nullptr;
  size_t total_bytes_ = 0;
  size_t slot_bytes_ = 0;
  int slots_ = 0;
  size_t data_offset_ = 0, channels_offset_ = 0, scratch_offset_ = 0, rank_info_offset_ = 0;
  double op_timeout_s_ = 600, heartbeat_timeout_s_ = 5;
  int spin_ = 2000;
  uint64_t last_check_ns_ = 0;
  bool oversubscribed_ = false;
  int yields_ = 0;
  bool direct_ok_ = false;
  size_t direct_min_bytes_ = 1024 * 1024;
  std::vector<float> acc_;     // direct reduce-scatter: fp32 partial sums of one piece
  std::vector<char> staging_;  // direct reduce-scatter: one piece read from a peer

  // Ring state (this process's view): messages sent on channel rank, received on channel prev.
  uint32_t send_seq_ = 0, recv_seq_ = 0;
  uint32_t barrier_gen_ = 0;
  uint64_t calls_ = 0;
  ByteCounters bytes_;
  std::string broken_;       // set after a failure: later calls throw it again
  std::string broken_code_;
  int broken_rank_ = -1;

  std::thread heartbeat_;
  std::mutex hb_mu_;
  std::condition_variable hb_cv_;
  bool hb_stop_ = false;
};

}  // namespace mt::comm
