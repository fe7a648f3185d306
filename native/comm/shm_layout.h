// The layout of a communicator's POSIX shared-memory segment `/moontrain-<job>`.
//
//   Header            magic, layout, creator pid, attach count, the abort word, the barrier
//   RankInfo[size]    per rank: pid, state, exit code, heartbeat (one cache line each)
//   scratch[size]     per rank: kScratchDoubles doubles for allReduceNumbers
//   Channel[size]     channel c carries rank c -> rank (c+1) % size (the ring): per slot a
//                     head word and a message header, one tail word
//   data[size]        channel c's slots x slot_bytes of payload, page aligned
//
// Every word another process polls or sleeps on is a 32-bit futex word alone in its cache line
// with a count of sleepers beside it. The segment is zero-filled by ftruncate, so "zero" is the
// initial state of every field.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace mt::comm {

constexpr uint64_t kMagic = 0x314d4d4f43544d4dull;  // "MMTCOMM1" little-endian
constexpr uint32_t kLayoutVersion = 1;
constexpr int kMaxRanks = 64;
constexpr int kMaxSlots = 16;
constexpr size_t kScratchDoubles = 8192;  // 64 KiB per rank for allReduceNumbers
constexpr size_t kReasonBytes = 480;

// A futex word and the number of processes sleeping on it (FUTEX_WAKE only when > 0).
struct alignas(64) FutexWord {
  std::atomic<uint32_t> value{0};
  std::atomic<uint32_t> sleepers{0};
};
static_assert(sizeof(FutexWord) == 64, "one cache line");
static_assert(std::atomic<uint32_t>::is_always_lock_free, "futex words must be plain 32-bit words");

enum RankState : uint32_t {
  kRankAbsent = 0,    // not attached yet
  kRankAttached = 1,  // running
  kRankClosed = 2,    // called close()
  kRankExited = 3,    // its process is exiting (exit_code holds the code)
};

enum AbortKind : uint32_t { kAbortPeerFailed = 1, kAbortUser = 2, kAbortTimeout = 3, kAbortMismatch = 4 };

struct alignas(64) RankInfo {
  std::atomic<int32_t> pid{0};
  std::atomic<uint32_t> state{kRankAbsent};
  std::atomic<int32_t> exit_code{0};
  std::atomic<uint64_t> heartbeat_ns{0};  // CLOCK_MONOTONIC (system-wide), written every ~200 ms
  // The collective this rank is in: (call index << 8) | op, written after call_signature
  // (seqlock style: read call, signature, call again).
  std::atomic<uint64_t> call{0};
  std::atomic<uint64_t> call_signature{0};
  // Direct (single-copy) transfers: the address, in this rank's own address space, of the
  // buffer peers read during the current call with process_vm_readv.
  std::atomic<uint64_t> direct_addr{0};
  // At attach: the address of a word of known value in this process (probe of process_vm_readv)
  // and whether this rank could read its neighbour's.
  std::atomic<uint64_t> probe_addr{0};
  std::atomic<uint32_t> direct_ok{0};
};

// What a message is part of; the receiver checks it against its own call, so ranks that call
// different collectives (or the same with other arguments) fail with a clear error instead of
// exchanging garbage.
struct alignas(64) MessageHeader {
  uint32_t op;        // CollOp
  uint32_t dtype;     // DType
  uint64_t total;     // elements of the whole collective
  uint64_t signature; // hash of the counts / root
  uint64_t call;      // index of the collective call on the sending rank
  uint64_t bytes;     // payload bytes of this message
};

struct Header {
  std::atomic<uint64_t> magic;  // written last by the creator (release)
  uint32_t version;
  uint32_t size;
  uint64_t slot_bytes;
  uint32_t slots;
  int32_t creator_pid;
  uint64_t total_bytes;
  uint64_t creator_start_ticks;  // /proc/<pid>/stat start time, to tell a reused pid from the creator
  alignas(64) std::atomic<uint32_t> attached;
  alignas(64) FutexWord abort;  // 0; 2 while the recorder writes the fields below; 1 once aborted
  int32_t abort_rank;           // the rank at fault (the dead peer, or the rank that called abort()); -1 unknown
  int32_t abort_by;             // the rank that recorded it
  uint32_t abort_kind;          // AbortKind
  char abort_reason[kReasonBytes];
  FutexWord barrier_count;
  FutexWord barrier_gen;
};

struct Channel {
  FutexWord head[kMaxSlots];  // head[k] = sequence number + 1 of the message in slot k (sender writes)
  FutexWord tail;             // messages consumed (receiver writes)
  MessageHeader message[kMaxSlots];
};

inline size_t align_up(size_t v, size_t a) { return (v + a - 1) / a * a; }

// Byte offsets of each part for a given world size and slot geometry.
struct Layout {
  size_t rank_info, scratch, channels, data, total;
  Layout(int size, size_t slot_bytes, int slots) {
    rank_info = align_up(sizeof(Header), 64);
    scratch = align_up(rank_info + sizeof(RankInfo) * size, 64);
    channels = align_up(scratch + sizeof(double) * kScratchDoubles * size, 64);
    data = align_up(channels + sizeof(Channel) * size, 4096);
    total = data + slot_bytes * slots * size;
  }
};

}  // namespace mt::comm
