// A process-wide pool of worker threads that runs native work.
//
// parallel_for hands out task indices dynamically, so which thread runs a task varies; every
// caller must therefore make each task's result independent of the thread that computes it
// (never split a reduction across tasks). That keeps results bitwise identical for any thread
// count, which resumed and distributed runs rely on.
#pragma once
#include <cstdint>
#include <functional>

namespace mt {

// Runs fn(i) for i in [0, n). The caller's thread takes part. Calls from inside a task, and
// calls while another JS thread (worker_threads) holds the pool, run on the calling thread.
void parallel_for(int64_t n, const std::function<void(int64_t)>& fn);

int num_threads();
// n >= 1. Takes effect for the next parallel_for.
void set_num_threads(int n);
// Threads usable by this process (sched affinity), capped by MOONTRAIN_NUM_THREADS if set.
int default_num_threads();

}  // namespace mt
