// Setting up and tearing down the shared-memory segment, waiting (spin, then futex), liveness
// and abort handling, the barrier and allReduceNumbers. The ring collectives are in ring.cc.
#include "communicator.h"

#include <errno.h>
#include <fcntl.h>
#include <immintrin.h>
#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cinttypes>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "comm_internal.h"

namespace mt::comm {

// ---------------------------------------------------------------------------------------------
// Small OS helpers
// ---------------------------------------------------------------------------------------------

uint64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

namespace {

void sleep_ms(int ms) {
  timespec ts{ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, nullptr);
}

// Shared (not private) futex operations: the words live in a MAP_SHARED mapping.
void futex_wait(std::atomic<uint32_t>* word, uint32_t expected, long timeout_ns) {
  timespec ts{timeout_ns / 1000000000L, timeout_ns % 1000000000L};
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAIT, expected, &ts, nullptr, 0);
}

void futex_wake(std::atomic<uint32_t>* word) {
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAKE, INT_MAX, nullptr, nullptr, 0);
}

// Field 3 (state) and field 22 (start time in clock ticks) of /proc/<pid>/stat.
bool read_proc_stat(int pid, char* state, uint64_t* start_ticks) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/stat", pid);
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char buf[1024];
  const ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n <= 0) return false;
  buf[n] = 0;
  // The command name (field 2) is in parentheses and may contain spaces: parse after the last ')'.
  const char* p = std::strrchr(buf, ')');
  if (!p || p[1] != ' ') return false;
  p += 2;
  if (state) *state = *p;
  if (start_ticks) {
    // p is at field 3; field 22 is 19 fields further.
    for (int field = 3; field < 22 && *p; ++p)
      if (*p == ' ') ++field;
    *start_ticks = std::strtoull(p, nullptr, 10);
  }
  return true;
}

// False when the process is gone or a zombie (it has exited but was not reaped yet).
bool process_alive(int pid) {
  if (pid <= 0) return false;
  if (::kill(pid, 0) != 0 && errno == ESRCH) return false;
  char state = 0;
  if (read_proc_stat(pid, &state, nullptr) && (state == 'Z' || state == 'X')) return false;
  return true;
}

std::string fmt_seconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, s < 10 ? "%.1f s" : "%.0f s", s);
  return buf;
}

bool valid_job_name(const std::string& job) {
  if (job.empty() || job.size() > 200) return false;
  for (char ch : job)
    if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_' || ch == '.')) return false;
  return true;
}

// Communicators of this process, so the exit hooks can mark them.
std::mutex g_live_mu;
std::vector<Communicator*> g_live;
bool g_atexit_registered = false;

void on_process_exit() {
  std::lock_guard<std::mutex> lk(g_live_mu);
  for (Communicator* c : g_live) c->mark_exiting(0x7fffffff);
}

}  // namespace

const char* coll_op_name(CollOp op) {
  switch (op) {
    case CollOp::AllGather: return "allGather";
    case CollOp::ReduceScatter: return "reduceScatter";
    case CollOp::AllReduce: return "allReduce";
    case CollOp::Broadcast: return "broadcast";
    case CollOp::Barrier: return "barrier";
    case CollOp::AllReduceNumbers: return "allReduceNumbers";
  }
  return "collective";
}

std::string segment_name(const std::string& job) { return "/moontrain-" + job; }

bool cleanup_stale(const std::string& job) {
  if (!valid_job_name(job)) return false;
  const std::string name = segment_name(job);
  const int fd = shm_open(name.c_str(), O_RDWR, 0);
  if (fd < 0) return false;
  struct stat st;
  bool stale = false;
  if (fstat(fd, &st) == 0) {
    if (static_cast<size_t>(st.st_size) >= sizeof(Header)) {
      void* p = mmap(nullptr, sizeof(Header), PROT_READ, MAP_SHARED, fd, 0);
      if (p != MAP_FAILED) {
        const Header* h = static_cast<const Header*>(p);
        if (h->magic.load(std::memory_order_acquire) == kMagic) {
          // Alive, and (when /proc tells) the same process, not a later one with a reused pid.
          uint64_t start = 0;
          bool same = process_alive(h->creator_pid);
          if (same && h->creator_start_ticks != 0 && read_proc_stat(h->creator_pid, nullptr, &start)) same = start == h->creator_start_ticks;
          stale = !same;
        } else {
          // Not initialised: stale unless it is being created right now.
          stale = time(nullptr) - st.st_mtime > 10;
        }
        munmap(p, sizeof(Header));
      }
    } else {
      stale = time(nullptr) - st.st_mtime > 10;
    }
  }
  ::close(fd);
  if (stale) shm_unlink(name.c_str());
  return stale;
}

void set_parent_death_signal(int sig) { prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0); }

std::vector<int64_t> Communicator::even_counts(int64_t n, int size) {
  std::vector<int64_t> c(static_cast<size_t>(size), n / size);
  for (int64_t r = 0; r < n % size; ++r) ++c[static_cast<size_t>(r)];
  return c;
}

// ---------------------------------------------------------------------------------------------
// Construction: create or attach, wait for every rank
// ---------------------------------------------------------------------------------------------

RankInfo& Communicator::rank_info(int r) const { return reinterpret_cast<RankInfo*>(base_ + rank_info_offset_)[r]; }
double* Communicator::scratch(int r) const {
  return reinterpret_cast<double*>(base_ + scratch_offset_) + static_cast<size_t>(r) * kScratchDoubles;
}
Channel& Communicator::channel(int c) const { return reinterpret_cast<Channel*>(base_ + channels_offset_)[c]; }
char* Communicator::slot_data(int c, int k) const {
  return base_ + data_offset_ + (static_cast<size_t>(c) * slots_ + static_cast<size_t>(k)) * slot_bytes_;
}

Communicator::Communicator(const std::string& job, int rank, int size, const Options& options)
    : job_(job), rank_(rank), size_(size) {
  const char* op = "Communicator";
  if (!valid_job_name(job)) throw RuntimeError(op, "ERR_MOONTRAIN_COMM", "invalid job name '" + job + "'");
  if (size < 1 || size > kMaxRanks || rank < 0 || rank >= size)
    throw RuntimeError(op, "ERR_MOONTRAIN_COMM", "rank " + std::to_string(rank) + " of " + std::to_string(size) + " is out of range");
  direct_min_bytes_ = options.direct_min_bytes;
  op_timeout_s_ = options.op_timeout_s;
  heartbeat_timeout_s_ = options.heartbeat_timeout_s;
  spin_ = options.spin;
  {
    cpu_set_t set;
    const int cpus = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : 1;
    oversubscribed_ = size > cpus;
    yields_ = oversubscribed_ ? options.yields : 0;
    if (oversubscribed_ && options.spin_oversubscribed >= 0) spin_ = std::min(spin_, options.spin_oversubscribed);
  }
  attach(options);
}

Communicator::~Communicator() {
  try {
    close();
  } catch (...) {
  }
}

namespace {

// An Error about the shared-memory segment, with errno's text.
RuntimeError segment_error(const char* what, const std::string& name) {
  return RuntimeError("Communicator", "ERR_MOONTRAIN_COMM", std::string(what) + " " + name + ": " + std::strerror(errno));
}

// Sizes and allocates the segment's pages (posix_fallocate). Returns "" on success, "errno" for
// another failure (errno set), or the message for a /dev/shm without room.
std::string allocate_segment(int fd, size_t bytes) {
  if (ftruncate(fd, static_cast<off_t>(bytes)) != 0) return "errno";
  const int e = posix_fallocate(fd, 0, static_cast<off_t>(bytes));
  if (e == 0) return "";
  if (e != ENOSPC && e != EFBIG) {
    errno = e;
    return "errno";
  }
  struct statvfs st {};
  const double free_mib = fstatvfs(fd, &st) == 0 ? double(st.f_bavail) * double(st.f_frsize) / (1 << 20) : 0;
  char msg[400];
  std::snprintf(msg, sizeof msg,
                "/dev/shm has too little room for the ranks' shared memory: %.1f MiB needed, %.1f MiB free; "
                "enlarge /dev/shm (in Docker: docker run --shm-size=%dg ...)",
                double(bytes) / (1 << 20), free_mib, int(std::ceil(double(bytes) / (1 << 30))) + 1);
  return msg;
}

bool expired(uint64_t start_ns, double seconds) { return (now_ns() - start_ns) * 1e-9 > seconds; }

}  // namespace

// Attaching: rank 0 creates and sizes the segment, the others open it once rank 0 has published
// its header; each rank claims its entry, then all wait for each other.
void Communicator::attach(const Options& options) {
  const std::string name = segment_name(job_);
  const uint64_t start = now_ns();
  if (rank_ == 0)
    create_segment(name, options);
  else
    open_segment(name, start, options.connect_timeout_s);

  const Layout L(size_, slot_bytes_, slots_);
  rank_info_offset_ = L.rank_info;
  scratch_offset_ = L.scratch;
  channels_offset_ = L.channels;
  data_offset_ = L.data;

  claim_rank();
  wait_for_ranks(name, start, options.connect_timeout_s);
  // Everyone has it mapped: drop the name, so nothing is left behind whatever happens next.
  shm_unlink(name.c_str());
  try {
    // Every rank's flag goes into the decision (probe_direct ANDs them), so all choose alike.
    probe_direct(options.direct && (!oversubscribed_ || options.direct_when_oversubscribed));
  } catch (...) {
    close();
    throw;
  }
}

// Rank 0: creates the segment (removing a stale one whose creator is gone), sizes, maps and
// initialises it; the header's magic is written last.
void Communicator::create_segment(const std::string& name, const Options& options) {
  const char* op = "Communicator";
  int fd = -1;
  creator_ = true;
  for (int attempt = 0;; ++attempt) {
    fd = shm_open(name.c_str(), O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
    if (fd >= 0) break;
    if (errno != EEXIST) throw segment_error("cannot create", name);
    if (attempt < 3 && cleanup_stale(job_)) continue;
    throw RuntimeError(op, "ERR_MOONTRAIN_COMM",
                       "the shared-memory segment " + name + " already exists and its creator is alive: another job uses the name '" +
                           job_ + "' (set MOONTRAIN_JOB to a fresh name)");
  }
  slot_bytes_ = align_up(std::max<size_t>(options.slot_bytes, 4096), 4096);
  slots_ = std::min(std::max(options.slots, 2), kMaxSlots);
  const Layout L(size_, slot_bytes_, slots_);
  // Allocated now (not only sized): a full /dev/shm fails here in one line, not as SIGBUS mid-run.
  const std::string full = allocate_segment(fd, L.total);
  if (!full.empty()) {
    const int e = errno;
    ::close(fd);
    shm_unlink(name.c_str());
    errno = e;
    if (full != "errno") throw RuntimeError(op, "ERR_MOONTRAIN_SHM_FULL", full);
    throw segment_error("cannot size", name);
  }
  void* p = mmap(nullptr, L.total, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  ::close(fd);
  if (p == MAP_FAILED) {
    shm_unlink(name.c_str());
    throw segment_error("cannot map", name);
  }
  base_ = static_cast<char*>(p);
  total_bytes_ = L.total;
  Header* h = header();
  h->version = kLayoutVersion;
  h->size = static_cast<uint32_t>(size_);
  h->slot_bytes = slot_bytes_;
  h->slots = static_cast<uint32_t>(slots_);
  h->creator_pid = getpid();
  uint64_t ticks = 0;
  read_proc_stat(getpid(), nullptr, &ticks);
  h->creator_start_ticks = ticks;
  h->total_bytes = L.total;
  h->magic.store(kMagic, std::memory_order_release);
}

// Ranks above 0: wait for rank 0's segment (its magic, layout version, live creator, same world
// size, full length), then map all of it.
void Communicator::open_segment(const std::string& name, uint64_t start, double connect_s) {
  const char* op = "Communicator";
  int fd = -1;
  for (;;) {
    fd = shm_open(name.c_str(), O_RDWR | O_CLOEXEC, 0);
    if (fd >= 0) {
      struct stat st;
      bool ready = false;
      if (fstat(fd, &st) == 0 && static_cast<size_t>(st.st_size) >= sizeof(Header)) {
        void* p = mmap(nullptr, sizeof(Header), PROT_READ, MAP_SHARED, fd, 0);
        if (p != MAP_FAILED) {
          const Header* h = static_cast<const Header*>(p);
          if (h->magic.load(std::memory_order_acquire) == kMagic) {
            if (h->version != kLayoutVersion) {
              munmap(p, sizeof(Header));
              ::close(fd);
              throw RuntimeError(op, "ERR_MOONTRAIN_COMM", name + " has layout version " + std::to_string(h->version) +
                                                               ", this build expects " + std::to_string(kLayoutVersion));
            }
            if (process_alive(h->creator_pid)) {
              if (static_cast<int>(h->size) != size_) {
                const int theirs = static_cast<int>(h->size);
                munmap(p, sizeof(Header));
                ::close(fd);
                throw RuntimeError(op, "ERR_MOONTRAIN_COMM",
                                   "rank 0 created job '" + job_ + "' with world size " + std::to_string(theirs) + ", rank " +
                                       std::to_string(rank_) + " was started with world size " + std::to_string(size_));
              }
              slot_bytes_ = h->slot_bytes;
              slots_ = static_cast<int>(h->slots);
              total_bytes_ = h->total_bytes;
              ready = static_cast<size_t>(st.st_size) >= total_bytes_;
            }
          }
          munmap(p, sizeof(Header));
        }
      }
      if (ready) break;
      ::close(fd);
      fd = -1;
    } else if (errno != ENOENT) {
      throw segment_error("cannot open", name);
    }
    if (expired(start, connect_s))
      throw RuntimeError(op, "ERR_MOONTRAIN_COMM_TIMEOUT",
                         "rank " + std::to_string(rank_) + ": timed out after " + fmt_seconds(connect_s) + " waiting for rank 0 to create " +
                             name + " (is rank 0 running, with the same MOONTRAIN_JOB?)");
    sleep_ms(2);
  }
  void* p = mmap(nullptr, total_bytes_, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  ::close(fd);
  if (p == MAP_FAILED) throw segment_error("cannot map", name);
  base_ = static_cast<char*>(p);
}

// Claims this rank's entry (a second process with the same rank is refused), starts the heartbeat.
void Communicator::claim_rank() {
  const char* op = "Communicator";
  RankInfo& me = rank_info(rank_);
  int32_t expected = 0;
  if (!me.pid.compare_exchange_strong(expected, getpid())) {
    const int other = expected;
    munmap(base_, total_bytes_);
    base_ = nullptr;
    throw RuntimeError(op, "ERR_MOONTRAIN_COMM",
                       "rank " + std::to_string(rank_) + " of job '" + job_ + "' is already taken by pid " + std::to_string(other) +
                           " (two processes with the same RANK?)");
  }
  me.heartbeat_ns.store(now_ns(), std::memory_order_release);
  me.state.store(kRankAttached, std::memory_order_release);
  header()->attached.fetch_add(1, std::memory_order_acq_rel);
  {
    std::lock_guard<std::mutex> lk(g_live_mu);
    g_live.push_back(this);
    if (!g_atexit_registered) {
      std::atexit(on_process_exit);
      g_atexit_registered = true;
    }
  }
  start_heartbeat();
}

// Waits until every rank has attached, watching those already attached and rank 0.
void Communicator::wait_for_ranks(const std::string& name, uint64_t start, double connect_s) {
  const char* op = "Communicator";
  try {
    while (header()->attached.load(std::memory_order_acquire) < static_cast<uint32_t>(size_)) {
      check_failures(op);
      if (!creator_ && !process_alive(header()->creator_pid)) fail(op, 0, "rank 0 (pid " + std::to_string(header()->creator_pid) + ") died", true);
      if (expired(start, connect_s)) {
        std::string missing;
        for (int r = 0; r < size_; ++r)
          if (rank_info(r).state.load() == kRankAbsent) missing += (missing.empty() ? "" : ", ") + std::to_string(r);
        throw RuntimeError(op, "ERR_MOONTRAIN_COMM_TIMEOUT",
                           "rank " + std::to_string(rank_) + ": timed out after " + fmt_seconds(connect_s) + " waiting for rank(s) " + missing +
                               " to join job '" + job_ + "'");
      }
      sleep_ms(1);
    }
  } catch (...) {
    if (creator_) shm_unlink(name.c_str());
    close();
    throw;
  }
}

void Communicator::start_heartbeat() {
  hb_stop_ = false;
  heartbeat_ = std::thread([this] {
    RankInfo& me = rank_info(rank_);
    std::unique_lock<std::mutex> lk(hb_mu_);
    while (!hb_stop_) {
      me.heartbeat_ns.store(now_ns(), std::memory_order_release);
      hb_cv_.wait_for(lk, std::chrono::milliseconds(200));
    }
  });
}

void Communicator::stop_heartbeat() {
  if (!heartbeat_.joinable()) return;
  {
    std::lock_guard<std::mutex> lk(hb_mu_);
    hb_stop_ = true;
  }
  hb_cv_.notify_all();
  heartbeat_.join();
}

void Communicator::close() {
  if (!base_) return;
  stop_heartbeat();
  RankInfo& me = rank_info(rank_);
  uint32_t running = kRankAttached;
  me.state.compare_exchange_strong(running, kRankClosed, std::memory_order_acq_rel);
  wake_all();
  {
    std::lock_guard<std::mutex> lk(g_live_mu);
    g_live.erase(std::remove(g_live.begin(), g_live.end(), this), g_live.end());
  }
  munmap(base_, total_bytes_);
  base_ = nullptr;
}

void Communicator::mark_exiting(int code) {
  if (!base_) return;
  RankInfo& me = rank_info(rank_);
  // Only the first report counts (the JS exit hook's code, then the atexit fallback's none).
  if (me.state.load(std::memory_order_acquire) != kRankAttached) return;
  me.exit_code.store(code, std::memory_order_relaxed);
  uint32_t running = kRankAttached;
  if (me.state.compare_exchange_strong(running, kRankExited, std::memory_order_acq_rel)) wake_all();
}

// ---------------------------------------------------------------------------------------------
// Failures
// ---------------------------------------------------------------------------------------------

namespace {

const char* abort_code(uint32_t kind) {
  switch (kind) {
    case kAbortUser: return "ERR_MOONTRAIN_COMM_ABORTED";
    case kAbortTimeout: return "ERR_MOONTRAIN_COMM_TIMEOUT";
    case kAbortMismatch: return "ERR_MOONTRAIN_COMM_MISMATCH";
    default: return "ERR_MOONTRAIN_RANK_FAILED";
  }
}

}  // namespace

void Communicator::wake_all() {
  if (!base_) return;
  Header* h = header();
  futex_wake(&h->abort.value);
  futex_wake(&h->barrier_gen.value);
  for (int c = 0; c < size_; ++c) {
    Channel& ch = channel(c);
    for (int k = 0; k < slots_; ++k) futex_wake(&ch.head[k].value);
    futex_wake(&ch.tail.value);
  }
}

void Communicator::fail(const char* op, int failed_rank, const std::string& reason, bool record) {
  fail_kind(op, failed_rank, reason, record, kAbortPeerFailed);
}

void Communicator::fail_kind(const char* op, int failed_rank, const std::string& reason, bool record, uint32_t kind) {
  Header* h = header();
  std::string message = reason;
  int rank = failed_rank;
  uint32_t k = kind;
  if (record) {
    uint32_t zero = 0;
    if (h->abort.value.compare_exchange_strong(zero, 2, std::memory_order_acq_rel)) {
      h->abort_rank = failed_rank;
      h->abort_by = rank_;
      h->abort_kind = kind;
      std::snprintf(h->abort_reason, kReasonBytes, "%s", reason.c_str());
      post_word(h->abort, 1);
      wake_all();
    } else {
      // Someone recorded a failure first: report theirs, so every rank names the same one.
      const uint64_t t0 = now_ns();
      while (h->abort.value.load(std::memory_order_acquire) != 1 && now_ns() - t0 < 1000000000ull) _mm_pause();
      if (h->abort.value.load(std::memory_order_acquire) == 1) {
        rank = h->abort_rank;
        k = h->abort_kind;
        message = std::string(h->abort_reason, strnlen(h->abort_reason, kReasonBytes));
        if (h->abort_by != rank_ && h->abort_by != h->abort_rank) message += " (detected by rank " + std::to_string(h->abort_by) + ")";
      }
    }
  }
  broken_ = message;
  broken_code_ = abort_code(k);
  broken_rank_ = rank;
  throw CommError(op, broken_code_, message, rank);
}

void Communicator::check_usable(const char* op) {
  if (!base_) throw RuntimeError(op, "ERR_MOONTRAIN_COMM_CLOSED", "the communicator is closed");
  if (!broken_.empty()) throw CommError(op, broken_code_, broken_ + " (an earlier collective failed)", broken_rank_);
}

void Communicator::check_failures(const char* op, const std::function<bool(uint32_t)>* ok, FutexWord* word) {
  Header* h = header();
  const uint32_t a = h->abort.value.load(std::memory_order_acquire);
  if (a != 0) {
    const uint64_t t0 = now_ns();
    while (h->abort.value.load(std::memory_order_acquire) != 1 && now_ns() - t0 < 1000000000ull) _mm_pause();
    std::string message(h->abort_reason, strnlen(h->abort_reason, kReasonBytes));
    if (h->abort_by != rank_ && h->abort_by != h->abort_rank) message += " (detected by rank " + std::to_string(h->abort_by) + ")";
    broken_ = message;
    broken_code_ = abort_code(h->abort_kind);
    broken_rank_ = h->abort_rank;
    throw CommError(op, broken_code_, message, broken_rank_);
  }
  const uint64_t now = now_ns();
  if (now - last_check_ns_ < 20000000ull) return;
  last_check_ns_ = now;
  const uint64_t my_call = rank_info(rank_).call.load(std::memory_order_relaxed);
  for (int q = 0; q < size_; ++q) {
    if (q == rank_) continue;
    RankInfo& ri = rank_info(q);
    const uint32_t state = ri.state.load(std::memory_order_acquire);
    if (state == kRankAbsent) continue;
    const int pid = ri.pid.load(std::memory_order_relaxed);
    const std::string who = "rank " + std::to_string(q) + " (pid " + std::to_string(pid) + ")";
    // A peer that closed, exited or died after providing what we wait for is not a failure (its
    // earlier writes are visible once we have seen its state): re-read the awaited word first.
    const auto arrived = [&] { return ok && word && (*ok)(word->value.load(std::memory_order_acquire)); };
    // Nor is one that closed after finishing the call we are in: it has written all it sends in
    // it, and what we still wait for comes from another peer (checked in turn).
    const auto finished_this_call = [&] { return (ri.call.load(std::memory_order_acquire) >> 8) >= (my_call >> 8); };
    if (state == kRankExited) {
      if (arrived()) return;
      const int code = ri.exit_code.load(std::memory_order_relaxed);
      if (code == 0 && finished_this_call()) continue;
      fail(op, q, code == 0x7fffffff ? who + " exited" : who + " exited with code " + std::to_string(code), true);
    }
    if (state == kRankClosed) {
      if (arrived()) return;
      if (finished_this_call()) continue;
      fail(op, q, who + " closed its communicator", true);
    }
    if (!process_alive(pid)) {
      if (arrived()) return;
      fail(op, q, who + " died", true);
    }
    const uint64_t hb = ri.heartbeat_ns.load(std::memory_order_acquire);
    const uint64_t now2 = now_ns();
    if (now2 > hb && static_cast<double>(now2 - hb) * 1e-9 > heartbeat_timeout_s_)
      fail(op, q, who + " stopped responding (no heartbeat for " + fmt_seconds(static_cast<double>(now2 - hb) * 1e-9) + ")", true);
    // Same call index, another collective: the program diverged.
    const uint64_t c1 = ri.call.load(std::memory_order_acquire);
    const uint64_t sig = ri.call_signature.load(std::memory_order_acquire);
    const uint64_t c2 = ri.call.load(std::memory_order_acquire);
    if (c1 == c2 && my_call != 0 && (c1 >> 8) == (my_call >> 8) &&
        ((c1 & 0xff) != (my_call & 0xff) || sig != rank_info(rank_).call_signature.load(std::memory_order_relaxed))) {
      const std::string theirs = coll_op_name(static_cast<CollOp>(c1 & 0xff));
      const std::string mine = coll_op_name(static_cast<CollOp>(my_call & 0xff));
      fail_kind(op, q,
                "collective mismatch at call #" + std::to_string(my_call >> 8) + ": rank " + std::to_string(q) + " called " + theirs +
                    (theirs == mine ? " with other arguments" : "") + " while rank " + std::to_string(rank_) + " called " + mine,
                true, kAbortMismatch);
    }
  }
}

void Communicator::abort(const std::string& reason) {
  if (!base_) return;
  Header* h = header();
  uint32_t zero = 0;
  if (h->abort.value.compare_exchange_strong(zero, 2, std::memory_order_acq_rel)) {
    h->abort_rank = rank_;
    h->abort_by = rank_;
    h->abort_kind = kAbortUser;
    std::snprintf(h->abort_reason, kReasonBytes, "rank %d aborted the job: %s", rank_, reason.c_str());
    post_word(h->abort, 1);
    wake_all();
  }
  if (broken_.empty()) {
    broken_ = "rank " + std::to_string(rank_) + " aborted the job: " + reason;
    broken_code_ = abort_code(kAbortUser);
    broken_rank_ = rank_;
  }
}

// ---------------------------------------------------------------------------------------------
// Waiting and signalling
// ---------------------------------------------------------------------------------------------

void Communicator::post_word(FutexWord& w, uint32_t value) {
  w.value.store(value, std::memory_order_seq_cst);
  if (w.sleepers.load(std::memory_order_seq_cst) != 0) futex_wake(&w.value);
}

uint32_t Communicator::wait_word_slow(FutexWord& w, const WaitPredicate& ok, const char* op, int peer, const char* what) {
  for (int i = 0; i < spin_; ++i) {
    _mm_pause();
    const uint32_t v = w.value.load(std::memory_order_acquire);
    if (ok(v)) return v;
  }
  // More ranks than CPUs: the rank we wait for may be waiting for this CPU; offer it first (for
  // at most ~200 us: under load one yield can give the CPU away for a whole time slice).
  if (yields_ > 0) {
    const uint64_t until = now_ns() + 200000;
    for (int i = 0; i < yields_; ++i) {
      sched_yield();
      const uint32_t v = w.value.load(std::memory_order_acquire);
      if (ok(v)) return v;
      if (now_ns() > until) break;
    }
  }
  const uint64_t start = now_ns();
  for (;;) {
    check_failures(op, &ok, &w);
    w.sleepers.fetch_add(1, std::memory_order_seq_cst);
    uint32_t v = w.value.load(std::memory_order_seq_cst);
    if (!ok(v)) futex_wait(&w.value, v, 50000000L);
    w.sleepers.fetch_sub(1, std::memory_order_seq_cst);
    v = w.value.load(std::memory_order_acquire);
    if (ok(v)) return v;
    const double waited = static_cast<double>(now_ns() - start) * 1e-9;
    if (waited > op_timeout_s_) {
      std::string msg = "rank " + std::to_string(rank_) + " timed out after " + fmt_seconds(waited) + " in " + op + " waiting for ";
      msg += peer >= 0 ? "rank " + std::to_string(peer) + " (" + what + ")" : std::string(what);
      msg += "; every rank is alive: did they all call the same collectives?";
      fail_kind(op, -1, msg, true, kAbortTimeout);
    }
  }
}

void Communicator::begin_call(CollOp op, uint64_t signature) {
  ++calls_;
  RankInfo& me = rank_info(rank_);
  me.call_signature.store(signature, std::memory_order_relaxed);
  me.call.store((calls_ << 8) | static_cast<uint64_t>(op), std::memory_order_release);
}

// ---------------------------------------------------------------------------------------------
// Barrier and allReduceNumbers
// ---------------------------------------------------------------------------------------------

void Communicator::barrier_inner(const char* op) {
  Header* h = header();
  const uint32_t g = barrier_gen_;
  const uint32_t arrived = h->barrier_count.value.fetch_add(1, std::memory_order_acq_rel) + 1;
  if (arrived == static_cast<uint32_t>(size_)) {
    h->barrier_count.value.store(0, std::memory_order_relaxed);
    post_word(h->barrier_gen, g + 1);
  } else {
    wait_word(h->barrier_gen, [g](uint32_t v) { return v != g; }, op, -1, "every rank to arrive");
  }
  barrier_gen_ = g + 1;
}

void Communicator::barrier() {
  const char* op = "barrier";
  check_usable(op);
  if (size_ == 1) return;
  begin_call(CollOp::Barrier, 0);
  barrier_inner(op);
}

void Communicator::all_reduce_numbers(double* values, int64_t n, NumbersOp how) {
  const char* op = "allReduceNumbers";
  check_usable(op);
  if (size_ == 1) return;
  begin_call(CollOp::AllReduceNumbers, static_cast<uint64_t>(n) * 4 + (how == NumbersOp::Max ? 1 : 0));
  int64_t off = 0;
  do {
    const int64_t m = std::min<int64_t>(n - off, static_cast<int64_t>(kScratchDoubles));
    if (m > 0) std::memcpy(scratch(rank_), values + off, static_cast<size_t>(m) * sizeof(double));
    barrier_inner(op);
    for (int64_t i = 0; i < m; ++i) {
      double acc = scratch(0)[i];
      for (int q = 1; q < size_; ++q) {
        const double x = scratch(q)[i];
        if (how == NumbersOp::Sum) acc += x;
        else acc = (std::isnan(acc) || std::isnan(x)) ? NAN : std::max(acc, x);
      }
      values[off + i] = acc;
    }
    barrier_inner(op);
    off += m;
  } while (off < n);
}

}  // namespace mt::comm
