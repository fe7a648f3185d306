// The CPU emulator behind the device layer (see emulator.h for what it runs and checks).
#include "../device/device.cuh"

#include <sys/mman.h>
#include <ucontext.h>

#include <cstring>
#include <deque>
#include <sstream>
#include <vector>

namespace mt::emu {
namespace {

constexpr size_t kStackBytes = 128 * 1024;

enum class State { Runnable, AtBarrier, AtWarp, Exited };

struct Copy {
  unsigned char* dst;
  const unsigned char* src;
  int bytes, src_bytes;
};

struct Thread {
  ucontext_t ctx;
  State state = State::Runnable;
  unsigned barrier_id = 0;
  Here barrier_at{};
  uint32_t warp_gen = 0;
  std::vector<Copy> open;                   // cp.async not yet committed
  std::deque<std::vector<Copy>> committed;  // committed groups, oldest first
};

// Per shared-memory byte: the last writer, up to two readers since, and an in-flight cp.async.
struct Shadow {
  int32_t writer = -1, r1 = -1, r2 = -1, pending = -1;
  uint32_t wtime = 0, r1t = 0, r2t = 0;
};

// A barrier release: the threads that took part (all of them for a block-wide one).
struct Event {
  bool full;
  std::vector<uint64_t> members;
};

struct Barrier {
  unsigned expected = 0, arrived = 0;
  std::vector<uint64_t> members;
};

struct WarpSlot {
  uint32_t arrived = 0;
  Collective kind{};
  Here at{};
  uint64_t in[32][10];
  uint64_t out[32][4];
};

struct Warp {
  WarpSlot slot[2];
};

const char* name_of(Collective c) {
  switch (c) {
    case Collective::Shfl: return "shfl";
    case Collective::Ballot: return "ballot";
    case Collective::Ldmatrix1: return "ldmatrix.x1";
    case Collective::Ldmatrix2: return "ldmatrix.x2";
    case Collective::Ldmatrix4: return "ldmatrix.x4";
    case Collective::Ldmatrix1T: return "ldmatrix.x1.trans";
    case Collective::Ldmatrix2T: return "ldmatrix.x2.trans";
    case Collective::Ldmatrix4T: return "ldmatrix.x4.trans";
    case Collective::Mma: return "mma.sync.m16n8k16";
    case Collective::SyncWarp: return "sync_warp";
  }
  return "?";
}

std::string where(Here h) {
  const char* f = h.file ? h.file : "?";
  const char* slash = std::strrchr(f, '/');
  return std::string(slash ? slash + 1 : f) + ":" + std::to_string(h.line);
}

struct Block {
  const std::function<void()>* body = nullptr;
  dev::Dim3 grid, dim, idx;
  unsigned nthreads = 0;
  std::vector<Thread> threads;
  std::vector<Warp> warps;
  unsigned char* smem = nullptr;
  size_t smem_bytes = 0;
  std::vector<Shadow> shadow;
  std::vector<Event> events;
  int64_t last_full = -1;
  Barrier barriers[16];
  ucontext_t sched;
  int current = -1;
  std::string error;
  LaunchStats stats;
};

// The block being run (one at a time per OS thread: each thread that launches emulates on its own).
thread_local Block* g = nullptr;

// Fiber stacks and shared memory are kept between launches.
struct Pool {
  unsigned char* stacks = nullptr;
  size_t stack_count = 0;
  std::vector<unsigned char> smem;
  ~Pool() {
    if (stacks) munmap(stacks, stack_count * kStackBytes);
  }
  unsigned char* stack(unsigned i, unsigned need) {
    if (need > stack_count) {
      if (stacks) munmap(stacks, stack_count * kStackBytes);
      void* p = mmap(nullptr, need * kStackBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
      if (p == MAP_FAILED) throw Error("emulator: cannot map fiber stacks");
      stacks = static_cast<unsigned char*>(p);
      stack_count = need;
    }
    return stacks + size_t(i) * kStackBytes;
  }
};
thread_local Pool g_pool;

bool has(const std::vector<uint64_t>& m, unsigned t) { return (m[t >> 6] >> (t & 63)) & 1; }

// Yields to the scheduler; returns when this fiber is resumed.
void yield() {
  Thread& th = g->threads[g->current];
  ++g->stats.switches;
  swapcontext(&th.ctx, &g->sched);
}

// Records the first defect and never resumes the calling fiber.
[[noreturn]] void fail(const std::string& msg) {
  if (g->error.empty()) g->error = msg;
  if (g->current >= 0) {
    Thread& th = g->threads[g->current];
    swapcontext(&th.ctx, &g->sched);
  }
  throw Error(msg);  // not reached from a fiber
}

// Is there a barrier release after time `since` that both a and b took part in?
bool ordered(int a, int b, uint32_t since) {
  if (g->last_full >= int64_t(since)) return true;
  for (int64_t e = int64_t(g->events.size()) - 1; e >= int64_t(since); --e)
    if (has(g->events[e].members, a) && has(g->events[e].members, b)) return true;
  return false;
}

size_t offset_of(const void* p, size_t bytes, const char* what) {
  const unsigned char* c = static_cast<const unsigned char*>(p);
  if (c < g->smem || c + bytes > g->smem + g->smem_bytes) {
    std::ostringstream s;
    s << what << " outside shared memory: thread " << g->current << " at offset " << (c - g->smem) << " (" << bytes
      << " bytes) of " << g->smem_bytes;
    fail(s.str());
  }
  return size_t(c - g->smem);
}

std::string race(const char* kind, size_t off, int t, const char* did, int other, const char* other_did) {
  std::ostringstream s;
  s << "shared-memory race (" << kind << ") at byte " << off << ": thread " << t << " " << did << " it after thread " << other << " "
    << other_did << " it, with no barrier between";
  return s.str();
}

void read_bytes(int t, size_t off, size_t n) {
  const uint32_t now = uint32_t(g->events.size());
  for (size_t i = off; i < off + n; ++i) {
    Shadow& s = g->shadow[i];
    if (s.pending >= 0) {
      std::ostringstream m;
      m << "cp.async data read before its wait: thread " << t << " reads shared byte " << i << " of a copy thread " << s.pending
        << " has not waited for (cp_async_wait)";
      fail(m.str());
    }
    if (s.writer >= 0 && s.writer != t && !ordered(s.writer, t, s.wtime)) fail(race("read after write", i, t, "reads", s.writer, "wrote"));
    if (s.r1 < 0 || s.r1 == t || g->last_full >= int64_t(s.r1t)) {
      s.r1 = t;
      s.r1t = now;
    } else if (s.r2 < 0 || s.r2 == t || g->last_full >= int64_t(s.r2t)) {
      s.r2 = t;
      s.r2t = now;
    }
  }
}

// check_only: the race checks of a write, without recording it (a cp.async at issue).
void write_bytes(int t, size_t off, size_t n, bool check_only) {
  const uint32_t now = uint32_t(g->events.size());
  for (size_t i = off; i < off + n; ++i) {
    Shadow& s = g->shadow[i];
    if (s.pending >= 0) {
      std::ostringstream m;
      m << "shared byte " << i << " written by thread " << t << " while a cp.async of thread " << s.pending << " to it is in flight";
      fail(m.str());
    }
    if (s.writer >= 0 && s.writer != t && !ordered(s.writer, t, s.wtime)) fail(race("write after write", i, t, "writes", s.writer, "wrote"));
    if (s.r1 >= 0 && s.r1 != t && !ordered(s.r1, t, s.r1t)) fail(race("write after read", i, t, "writes", s.r1, "read"));
    if (s.r2 >= 0 && s.r2 != t && !ordered(s.r2, t, s.r2t)) fail(race("write after read", i, t, "writes", s.r2, "read"));
    if (check_only) continue;
    s.writer = t;
    s.wtime = now;
    s.r1 = s.r2 = -1;
  }
}

void complete(int t, const Copy& c) {
  const size_t off = size_t(c.dst - g->smem);
  for (int i = 0; i < c.bytes; ++i) g->shadow[off + i].pending = -1;
  write_bytes(t, off, size_t(c.bytes), false);
  std::memcpy(c.dst, c.src, size_t(c.src_bytes));
  std::memset(c.dst + c.src_bytes, 0, size_t(c.bytes - c.src_bytes));
}

void release(Barrier& b, bool full) {
  Event e{full, b.members};
  g->events.push_back(std::move(e));
  if (full) g->last_full = int64_t(g->events.size()) - 1;
  for (unsigned t = 0; t < g->nthreads; ++t)
    if (has(b.members, t)) g->threads[t].state = State::Runnable;
  b.arrived = 0;
  std::fill(b.members.begin(), b.members.end(), 0);
}

void fiber_main() {
  const int t = g->current;
  try {
    (*g->body)();
  } catch (const std::exception& e) {  // an exception must not unwind past the fiber's first frame
    fail(std::string("thread ") + std::to_string(t) + " threw: " + e.what());
  }
  Thread& th = g->threads[t];
  cp_async_commit();  // copies still in flight land before the thread's end
  cp_async_wait(0);
  th.state = State::Exited;
  for (unsigned o = 0; o < g->nthreads; ++o) {
    const Thread& other = g->threads[o];
    if (other.state == State::AtBarrier && other.barrier_id == 0) {
      std::ostringstream s;
      s << "barrier not reached by every thread: thread " << t << " exited while thread " << o << " waits at sync_block ("
        << where(other.barrier_at) << ")";
      fail(s.str());
    }
  }
  swapcontext(&th.ctx, &g->sched);
}

std::string deadlock() {
  std::ostringstream s;
  s << "deadlock: no thread can run;";
  int shown = 0;
  for (unsigned t = 0; t < g->nthreads && shown < 4; ++t) {
    const Thread& th = g->threads[t];
    if (th.state == State::AtBarrier) {
      s << " thread " << t << " waits at barrier " << th.barrier_id << " (" << where(th.barrier_at) << ");";
      ++shown;
    } else if (th.state == State::AtWarp) {
      s << " thread " << t << " waits at a warp collective;";
      ++shown;
    }
  }
  unsigned exited = 0;
  for (const Thread& th : g->threads) exited += th.state == State::Exited;
  s << " " << exited << " of " << g->nthreads << " threads exited";
  return s.str();
}

void run_block() {
  for (unsigned t = 0; t < g->nthreads; ++t) {
    Thread& th = g->threads[t];
    getcontext(&th.ctx);
    th.ctx.uc_stack.ss_sp = g_pool.stack(t, g->nthreads);
    th.ctx.uc_stack.ss_size = kStackBytes;
    th.ctx.uc_link = nullptr;
    makecontext(&th.ctx, fiber_main, 0);
  }
  for (;;) {
    bool ran = false, live = false;
    for (unsigned t = 0; t < g->nthreads && g->error.empty(); ++t) {
      Thread& th = g->threads[t];
      if (th.state != State::Exited) live = true;
      if (th.state != State::Runnable) continue;
      ran = true;
      g->current = int(t);
      ++g->stats.switches;
      swapcontext(&g->sched, &th.ctx);
      g->current = -1;
    }
    if (!g->error.empty() || !live) return;
    if (!ran) {
      g->error = deadlock();
      return;
    }
  }
}

}  // namespace

dev::Dim3 thread_idx() {
  const unsigned t = unsigned(g->current);
  return {t % g->dim.x, (t / g->dim.x) % g->dim.y, t / (g->dim.x * g->dim.y)};
}
dev::Dim3 block_idx() { return g->idx; }
dev::Dim3 block_dim() { return g->dim; }
dev::Dim3 grid_dim() { return g->grid; }
unsigned thread_rank() { return unsigned(g->current); }
unsigned char* shared_base() { return g->smem; }

void on_shared_read(const void* p, size_t bytes) { read_bytes(g->current, offset_of(p, bytes, "shared-memory read"), bytes); }
void on_shared_write(const void* p, size_t bytes) { write_bytes(g->current, offset_of(p, bytes, "shared-memory write"), bytes, false); }

void barrier(unsigned id, unsigned threads, bool block_wide, Here at) {
  const int t = g->current;
  if (id >= 16) fail("named barrier id " + std::to_string(id) + " out of range 0..15");
  if (block_wide) threads = g->nthreads;
  if (threads == 0 || threads % 32 != 0 || threads > g->nthreads)
    fail("named barrier " + std::to_string(id) + " with " + std::to_string(threads) + " threads (a multiple of 32, at most the block's)");
  for (unsigned o = 0; o < g->nthreads; ++o)
    if (block_wide && g->threads[o].state == State::Exited) {
      std::ostringstream s;
      s << "barrier not reached by every thread: thread " << t << " waits at sync_block (" << where(at) << ") but thread " << o
        << " exited";
      fail(s.str());
    }
  Barrier& b = g->barriers[id];
  if (b.arrived == 0) b.expected = threads;
  if (b.expected != threads) fail("barrier " + std::to_string(id) + " used with different thread counts");
  for (unsigned o = 0; o < g->nthreads; ++o) {
    const Thread& other = g->threads[o];
    if (block_wide && other.state == State::AtBarrier && other.barrier_id == 0 &&
        (other.barrier_at.line != at.line || std::strcmp(other.barrier_at.file, at.file) != 0)) {
      std::ostringstream s;
      s << "barrier not reached by every thread: thread " << t << " waits at sync_block (" << where(at) << "), thread " << o
        << " at another sync_block (" << where(other.barrier_at) << ")";
      fail(s.str());
    }
  }
  Thread& th = g->threads[t];
  th.barrier_id = id;
  th.barrier_at = at;
  b.members[t >> 6] |= uint64_t(1) << (t & 63);
  if (++b.arrived == b.expected) {
    release(b, b.expected == g->nthreads);
    return;
  }
  th.state = State::AtBarrier;
  yield();
}

namespace {

void compute_ldmatrix(WarpSlot& s, unsigned warp, int n, bool trans) {
  for (int j = 0; j < n; ++j) {
    uint16_t m[8][8];
    for (int r = 0; r < 8; ++r) {
      const int lane = frag::ldmatrix_address_lane(j, r);
      const int t = int(warp * 32 + lane);
      const void* p = reinterpret_cast<const void*>(uintptr_t(s.in[lane][0]));
      const size_t off = offset_of(p, 16, "ldmatrix row");
      if (off % 16 != 0) fail("ldmatrix row address of lane " + std::to_string(lane) + " not 16-byte aligned (offset " + std::to_string(off) + ")");
      read_bytes(t, off, 16);
      std::memcpy(m[r], g->smem + off, 16);
    }
    for (int lane = 0; lane < 32; ++lane) {
      const frag::RowCol lo = frag::ldmatrix(lane, 0, trans), hi = frag::ldmatrix(lane, 1, trans);
      s.out[lane][j] = dev::pack_bf16x2(m[lo.row][lo.col], m[hi.row][hi.col]);
    }
  }
}

void compute_mma(WarpSlot& s) {
  float a[16][16], b[16][8], c[16][8];
  for (int lane = 0; lane < 32; ++lane) {
    for (int i = 0; i < 8; ++i) {
      const frag::RowCol e = frag::mma_a(lane, i);
      a[e.row][e.col] = dev::bf16_to_f32(uint16_t(s.in[lane][i >> 1] >> (16 * (i & 1))));
    }
    for (int i = 0; i < 4; ++i) {
      const frag::RowCol e = frag::mma_b(lane, i);
      b[e.row][e.col] = dev::bf16_to_f32(uint16_t(s.in[lane][4 + (i >> 1)] >> (16 * (i & 1))));
    }
    for (int i = 0; i < 4; ++i) {
      const frag::RowCol e = frag::mma_c(lane, i);
      c[e.row][e.col] = dev::bits_to_f32(uint32_t(s.in[lane][6 + i]));
    }
  }
  for (int lane = 0; lane < 32; ++lane)
    for (int i = 0; i < 4; ++i) {
      const frag::RowCol e = frag::mma_c(lane, i);
      float acc = 0.f;  // bf16 products are exact in f32
      for (int k = 0; k < 16; ++k) acc += a[e.row][k] * b[k][e.col];
      s.out[lane][i] = dev::f32_to_bits(acc + c[e.row][e.col]);
    }
}

void compute(WarpSlot& s, unsigned warp) {
  switch (s.kind) {
    case Collective::Shfl:
      for (int l = 0; l < 32; ++l) s.out[l][0] = s.in[s.in[l][1] & 31][0];
      break;
    case Collective::Ballot: {
      uint64_t m = 0;
      for (int l = 0; l < 32; ++l) m |= uint64_t(s.in[l][0] != 0) << l;
      for (int l = 0; l < 32; ++l) s.out[l][0] = m;
      break;
    }
    case Collective::Ldmatrix1: compute_ldmatrix(s, warp, 1, false); break;
    case Collective::Ldmatrix2: compute_ldmatrix(s, warp, 2, false); break;
    case Collective::Ldmatrix4: compute_ldmatrix(s, warp, 4, false); break;
    case Collective::Ldmatrix1T: compute_ldmatrix(s, warp, 1, true); break;
    case Collective::Ldmatrix2T: compute_ldmatrix(s, warp, 2, true); break;
    case Collective::Ldmatrix4T: compute_ldmatrix(s, warp, 4, true); break;
    case Collective::Mma: compute_mma(s); break;
    case Collective::SyncWarp: break;
  }
  // ldmatrix's reads are done before any lane goes on, and sync_warp orders the warp's memory
  // accesses: both order the warp's lanes like a barrier of the warp.
  if (s.kind != Collective::Shfl && s.kind != Collective::Ballot && s.kind != Collective::Mma) {
    Event e{false, std::vector<uint64_t>((g->nthreads + 63) / 64, 0)};
    for (unsigned l = 0; l < 32; ++l) e.members[(warp * 32 + l) >> 6] |= uint64_t(1) << ((warp * 32 + l) & 63);
    g->events.push_back(std::move(e));
  }
}

}  // namespace

void collective(Collective kind, const uint64_t* in, int nin, uint64_t* out, int nout, Here at) {
  const int t = g->current;
  const unsigned warp = unsigned(t) / 32, lane = unsigned(t) % 32;
  Thread& th = g->threads[t];
  const uint32_t gen = th.warp_gen++;
  WarpSlot& s = g->warps[warp].slot[gen & 1];
  if (s.arrived == 0) {
    s.kind = kind;
    s.at = at;
  } else if (s.kind != kind) {
    std::ostringstream m;
    m << "warp " << warp << " diverges: lane " << lane << " at " << name_of(kind) << " (" << where(at) << ") while another lane is at "
      << name_of(s.kind) << " (" << where(s.at) << ")";
    fail(m.str());
  }
  std::memcpy(s.in[lane], in, size_t(nin) * 8);
  s.arrived |= 1u << lane;
  ++g->stats.collectives;
  if (s.arrived == 0xffffffffu) {
    compute(s, warp);
    g->warps[warp].slot[(gen + 1) & 1].arrived = 0;
    for (unsigned l = 0; l < 32; ++l) {
      Thread& o = g->threads[warp * 32 + l];
      if (o.state == State::AtWarp) o.state = State::Runnable;
    }
  } else {
    th.state = State::AtWarp;
    yield();
  }
  std::memcpy(out, s.out[lane], size_t(nout) * 8);
}

void cp_async(void* smem, const void* gmem, int bytes, int src_bytes, Here at) {
  const int t = g->current;
  const size_t off = offset_of(smem, size_t(bytes), "cp.async destination");
  if (off % size_t(bytes) != 0 || reinterpret_cast<uintptr_t>(gmem) % uintptr_t(bytes) != 0)
    fail("cp.async of " + std::to_string(bytes) + " bytes at " + where(at) + " with an address not aligned to " + std::to_string(bytes));
  if (src_bytes < 0 || src_bytes > bytes) fail("cp.async src-size " + std::to_string(src_bytes) + " outside 0.." + std::to_string(bytes));
  write_bytes(t, off, size_t(bytes), true);
  for (int i = 0; i < bytes; ++i) g->shadow[off + size_t(i)].pending = t;
  g->threads[t].open.push_back({static_cast<unsigned char*>(smem), static_cast<const unsigned char*>(gmem), bytes, src_bytes});
}

void cp_async_commit() {
  Thread& th = g->threads[g->current];
  th.committed.push_back(std::move(th.open));
  th.open.clear();
}

void cp_async_wait(int n) {
  const int t = g->current;
  Thread& th = g->threads[t];
  while (th.committed.size() > size_t(n)) {
    for (const Copy& c : th.committed.front()) complete(t, c);
    th.committed.pop_front();
  }
}

LaunchStats launch(const char* kernel, dev::Dim3 grid, dev::Dim3 block, size_t smem_bytes, const std::function<void()>& body) {
  if (g) throw Error(std::string("emulator: launch of ") + kernel + " from inside a kernel");
  const unsigned n = block.x * block.y * block.z;
  if (n == 0 || n > 1024 || n % 32 != 0)
    throw Error(std::string("kernel ") + kernel + ": the emulator runs blocks of 32..1024 threads in whole warps, got " + std::to_string(n));
  if (smem_bytes > 227 * 1024) throw Error(std::string("kernel ") + kernel + ": " + std::to_string(smem_bytes) + " bytes of shared memory");
  LaunchStats total;
  for (unsigned z = 0; z < grid.z; ++z)
    for (unsigned y = 0; y < grid.y; ++y)
      for (unsigned x = 0; x < grid.x; ++x) {
        Block b;
        b.body = &body;
        b.grid = grid;
        b.dim = block;
        b.idx = {x, y, z};
        b.nthreads = n;
        b.threads.resize(n);
        b.warps.resize(n / 32);
        g_pool.smem.assign(smem_bytes + 128, 0xA5);  // garbage, as on a GPU
        b.smem = g_pool.smem.data() + (128 - reinterpret_cast<uintptr_t>(g_pool.smem.data()) % 128) % 128;
        b.smem_bytes = smem_bytes;
        b.shadow.assign(smem_bytes, Shadow{});
        for (Barrier& bar : b.barriers) bar.members.assign((n + 63) / 64, 0);
        g = &b;
        run_block();
        g = nullptr;
        total.switches += b.stats.switches;
        total.collectives += b.stats.collectives;
        ++total.blocks;
        if (!b.error.empty()) {
          std::ostringstream s;
          s << "kernel " << kernel << ", block (" << x << "," << y << "," << z << "): " << b.error;
          throw Error(s.str());
        }
      }
  return total;
}

}  // namespace mt::emu
