// The reference GEMM: plain loops, threaded over output rows. This is the specification the
// fast kernels are tested against; keep it obvious.
#include <vector>

#include "../core/thread_pool.h"
#include "gemm.h"

namespace mt::cpu {

namespace {

void reference_row(const GemmProblem& p, int64_t i) {
  for (int64_t j = 0; j < p.N; ++j) {
    float acc = 0.f;
    for (int64_t k = 0; k < p.K; ++k) acc += op_at(p.A, i, k) * op_at(p.B, k, j);
    float v = p.alpha * acc;
    if (p.beta != 0.f) v += p.beta * load_as_f32(p.Cin, p.c_dtype, i * p.ldc + j);
    store_from_f32(p.C, p.c_dtype, i * p.ldc + j, v);
  }
}

}  // namespace

void gemm_batch_reference(const GemmProblem* problems, int64_t count) {
  std::vector<std::pair<int64_t, int64_t>> rows;  // (problem, row)
  for (int64_t q = 0; q < count; ++q)
    for (int64_t i = 0; i < problems[q].M; ++i) rows.emplace_back(q, i);
  parallel_for(static_cast<int64_t>(rows.size()), [&](int64_t r) { reference_row(problems[rows[r].first], rows[r].second); });
}

}  // namespace mt::cpu
