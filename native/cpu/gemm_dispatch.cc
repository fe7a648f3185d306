// Chooses the GEMM backend for the active ISA path.
//
// The AMX kernel is trusted only after it has reproduced the reference on this CPU once (a
// few odd-sized products, both transposes): the machines moontrain is developed on have no
// AMX, so this guards users against a kernel that was compiled and leak-checked but never run
// there. On a mismatch moontrain warns once and stays on avx512bf16.
#include <cmath>
#include <cstdio>
#include <mutex>
#include <vector>

#include "gemm.h"

namespace mt::cpu {

namespace {

bool amx_matches_reference() {
  const int64_t M = 37, N = 45, K = 70;
  std::vector<bf16_t> a(M * K), b(K * N);
  uint32_t s = 12345;
  auto next = [&] {
    s = s * 1664525u + 1013904223u;
    return f32_to_bf16(static_cast<float>(static_cast<int32_t>(s >> 8) % 2001 - 1000) / 500.f);
  };
  for (auto& v : a) v = next();
  for (auto& v : b) v = next();
  for (int variant = 0; variant < 4; ++variant) {
    const bool ta = variant & 1, tb = variant & 2;
    std::vector<float> want(M * N), got(M * N);
    GemmProblem p;
    p.M = M; p.N = N; p.K = K;
    p.A = {a.data(), DType::BF16, ta ? M : K, ta};
    p.B = {b.data(), DType::BF16, tb ? K : N, tb};
    p.c_dtype = DType::F32;
    p.ldc = N;
    p.C = want.data();
    gemm_batch_reference(&p, 1);
    p.C = got.data();
    gemm_batch_blocked(&p, 1, Isa::Amx);
    double err = 0, norm = 0;
    for (int64_t i = 0; i < M * N; ++i) {
      err += (got[i] - want[i]) * double(got[i] - want[i]);
      norm += want[i] * double(want[i]);
    }
    if (!(std::sqrt(err) <= 1e-5 * std::sqrt(norm))) return false;
  }
  return true;
}

bool amx_trusted() {
  static std::once_flag once;
  static bool ok = false;
  std::call_once(once, [] {
    ok = amx_matches_reference();
    if (!ok) {
      std::fprintf(stderr, "moontrain: the AMX kernel did not reproduce the reference on this CPU; using avx512bf16\n");
      set_isa(Isa::Avx512Bf16);
    }
  });
  return ok;
}

}  // namespace

void gemm_batch(const GemmProblem* problems, int64_t count) {
  Isa isa = isa_active();
  if (isa == Isa::Amx && !amx_trusted()) isa = Isa::Avx512Bf16;
  if (isa == Isa::Scalar) gemm_batch_reference(problems, count);
  else gemm_batch_blocked(problems, count, isa);
}

}  // namespace mt::cpu
