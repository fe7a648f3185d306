#include "thread_pool.h"

#include <immintrin.h>
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

#include "cond_var.h"

namespace mt {

namespace {

thread_local bool t_inside_task = false;

// Waits spin this long before sleeping on the condition variable: a training step runs a few
// hundred short parallel regions back to back, and a futex sleep and wake-up per region costs
// more than many of them (measured: ~800 context switches per tiny step without spinning).
constexpr auto kSpin = std::chrono::microseconds(100);

// Spins until ready() or kSpin has passed; true when ready.
template <class Ready>
bool spin_until(Ready ready) {
  const auto until = std::chrono::steady_clock::now() + kSpin;
  for (int i = 0;; ++i) {
    if (ready()) return true;
    _mm_pause();
    if ((i & 63) == 63 && std::chrono::steady_clock::now() > until) return false;
  }
}

class Pool {
 public:
  explicit Pool(int threads) : want_(threads) {}

  ~Pool() {
    {
      std::lock_guard<std::mutex> lk(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& w : workers_) w.join();
  }

  void set_threads(int n) {
    std::lock_guard<std::mutex> run(run_mu_);
    want_ = n;
  }
  int threads() const { return want_; }

  void run(int64_t n, const std::function<void(int64_t)>& fn) {
    if (n <= 0) return;
    std::unique_lock<std::mutex> run(run_mu_, std::try_to_lock);
    if (t_inside_task || !run.owns_lock() || want_ <= 1 || n == 1) {
      run_serial(n, fn);
      return;
    }
    grow(want_ - 1);
    const int helpers = std::min<int64_t>(want_ - 1, n - 1);
    {
      std::lock_guard<std::mutex> lk(mu_);
      fn_ = &fn;
      n_ = n;
      next_.store(0);
      active_.store(helpers);
      wanted_helpers_ = helpers;
      generation_.fetch_add(1, std::memory_order_release);
    }
    cv_.notify_all();
    work();
    if (!spin_until([&] { return active_.load(std::memory_order_acquire) == 0; })) {
      std::unique_lock<std::mutex> lk(mu_);
      done_cv_.wait(lk, [&] { return active_.load(std::memory_order_acquire) == 0; });
    }
    std::lock_guard<std::mutex> lk(mu_);
    fn_ = nullptr;
  }

 private:
  static void run_serial(int64_t n, const std::function<void(int64_t)>& fn) {
    const bool was = t_inside_task;
    t_inside_task = true;
    for (int64_t i = 0; i < n; ++i) fn(i);
    t_inside_task = was;
  }

  void work() {
    t_inside_task = true;
    for (int64_t i; (i = next_.fetch_add(1)) < n_;) (*fn_)(i);
    t_inside_task = false;
  }

  void grow(int count) {
    while (static_cast<int>(workers_.size()) < count) {
      const int index = static_cast<int>(workers_.size());
      workers_.emplace_back([this, index] { loop(index); });
    }
  }

  void loop(int index) {
    uint64_t seen = 0;
    for (;;) {
      spin_until([&] { return generation_.load(std::memory_order_acquire) != seen; });
      {
        std::unique_lock<std::mutex> lk(mu_);
        cv_.wait(lk, [&] { return stop_ || (generation_.load(std::memory_order_relaxed) != seen && index < wanted_helpers_); });
        if (stop_) return;
        seen = generation_.load(std::memory_order_relaxed);
      }
      work();
      if (active_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        std::lock_guard<std::mutex> lk(mu_);
        done_cv_.notify_one();
      }
    }
  }

  std::mutex run_mu_;  // one parallel region at a time
  std::mutex mu_;
  CondVar cv_, done_cv_;
  std::vector<std::thread> workers_;
  const std::function<void(int64_t)>* fn_ = nullptr;
  int64_t n_ = 0;
  std::atomic<int64_t> next_{0};
  std::atomic<int> active_{0};
  int wanted_helpers_ = 0;
  std::atomic<uint64_t> generation_{0};
  bool stop_ = false;
  int want_;
};

Pool& pool() {
  // Intentionally leaked: worker threads must not be joined from static destructors at exit,
  // where a thread still inside a task would deadlock process teardown.
  static Pool* p = new Pool(default_num_threads());
  return *p;
}

}  // namespace

int default_num_threads() {
  int n = static_cast<int>(std::thread::hardware_concurrency());
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) n = CPU_COUNT(&set);
  if (const char* env = std::getenv("MOONTRAIN_NUM_THREADS")) {
    const int v = std::atoi(env);
    if (v >= 1) n = v;
  }
  return std::max(1, std::min(n, 1024));
}

void parallel_for(int64_t n, const std::function<void(int64_t)>& fn) { pool().run(n, fn); }
int num_threads() { return pool().threads(); }
void set_num_threads(int n) { pool().set_threads(std::max(1, std::min(n, 1024))); }

}  // namespace mt
