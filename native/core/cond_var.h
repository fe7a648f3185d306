// A condition variable over pthread_cond_t for std::mutex. std::condition_variable::wait is
// exported by libstdc++ 12 under GLIBCXX_3.4.30; this keeps the prebuilt binary loadable on
// GCC 11 runtimes (RHEL 9, Amazon Linux 2023).
#pragma once
#include <pthread.h>

#include <mutex>

namespace mt {

class CondVar {
 public:
  CondVar() { pthread_cond_init(&cond_, nullptr); }
  ~CondVar() { pthread_cond_destroy(&cond_); }
  CondVar(const CondVar&) = delete;
  CondVar& operator=(const CondVar&) = delete;

  template <class Predicate>
  void wait(std::unique_lock<std::mutex>& lock, Predicate ready) {
    while (!ready()) pthread_cond_wait(&cond_, lock.mutex()->native_handle());
  }
  void notify_one() { pthread_cond_signal(&cond_); }
  void notify_all() { pthread_cond_broadcast(&cond_); }

 private:
  pthread_cond_t cond_;
};

}  // namespace mt
