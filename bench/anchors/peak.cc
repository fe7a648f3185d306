// Bench-only: the machine's arithmetic ceiling, measured with register-only loops of
// independent FMAs (fp32 AVX2 / AVX-512) and VDPBF16PS, on n threads at once. Each function
// carries its own target attribute and is only called after CPUID says the CPU has it.
#include <immintrin.h>
#include <napi.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

namespace {

constexpr int64_t kIters = 20'000'000;

__attribute__((target("avx2,fma"))) double fma_avx2() {
  __m256 acc[12];
#pragma GCC unroll 12
  for (int i = 0; i < 12; ++i) acc[i] = _mm256_set1_ps(0.001f * i);
  const __m256 a = _mm256_set1_ps(1.0000001f), b = _mm256_set1_ps(0.9999999f);
  for (int64_t it = 0; it < kIters; ++it)
#pragma GCC unroll 12
    for (int i = 0; i < 12; ++i) acc[i] = _mm256_fmadd_ps(a, acc[i], b);
  float sink = 0;
  for (int i = 0; i < 12; ++i) sink += _mm256_cvtss_f32(acc[i]);
  asm volatile("" ::"x"(sink));
  return 2.0 * 8 * 12 * kIters;
}

__attribute__((target("avx512f"))) double fma_avx512() {
  __m512 acc[24];
#pragma GCC unroll 24
  for (int i = 0; i < 24; ++i) acc[i] = _mm512_set1_ps(0.001f * i);
  const __m512 a = _mm512_set1_ps(1.0000001f), b = _mm512_set1_ps(0.9999999f);
  for (int64_t it = 0; it < kIters; ++it)
#pragma GCC unroll 24
    for (int i = 0; i < 24; ++i) acc[i] = _mm512_fmadd_ps(a, acc[i], b);
  float sink = 0;
  for (int i = 0; i < 24; ++i) sink += _mm512_reduce_add_ps(acc[i]);
  asm volatile("" ::"x"(sink));
  return 2.0 * 16 * 24 * kIters;
}

__attribute__((target("avx512f,avx512bf16"))) double dpbf16_avx512() {
  __m512 acc[24];
#pragma GCC unroll 24
  for (int i = 0; i < 24; ++i) acc[i] = _mm512_set1_ps(0.001f * i);
  const __m512bh a = (__m512bh)_mm512_set1_epi32(0x3f803f80), b = (__m512bh)_mm512_set1_epi32(0x3f803f80);
  for (int64_t it = 0; it < kIters; ++it)
#pragma GCC unroll 24
    for (int i = 0; i < 24; ++i) acc[i] = _mm512_dpbf16_ps(acc[i], a, b);
  float sink = 0;
  for (int i = 0; i < 24; ++i) sink += _mm512_reduce_add_ps(acc[i]);
  asm volatile("" ::"x"(sink));
  return 2.0 * 32 * 24 * kIters;
}

// peak(kind, threads) -> GFLOP/s summed over threads.
Napi::Value Peak(const Napi::CallbackInfo& info) {
  const std::string kind = info[0].As<Napi::String>();
  const int threads = info[1].As<Napi::Number>().Int32Value();
  double (*fn)() = kind == "avx2-fma-f32" ? fma_avx2 : kind == "avx512-fma-f32" ? fma_avx512 : kind == "avx512-dpbf16" ? dpbf16_avx512 : nullptr;
  if (!fn) throw Napi::Error::New(info.Env(), "peak: unknown kind " + kind);
  __builtin_cpu_init();
  if ((fn != fma_avx2 && !__builtin_cpu_supports("avx512f")) || (fn == fma_avx2 && !__builtin_cpu_supports("avx2")))
    return info.Env().Null();
  std::vector<double> flops(threads);
  std::vector<std::thread> pool;
  const auto t0 = std::chrono::steady_clock::now();
  for (int t = 0; t < threads; ++t) pool.emplace_back([&, t] { flops[t] = fn(); });
  for (auto& th : pool) th.join();
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  double total = 0;
  for (double f : flops) total += f;
  return Napi::Number::New(info.Env(), total / s / 1e9);
}

}  // namespace

void RegisterPeak(Napi::Env env, Napi::Object exports) { exports.Set("peak", Napi::Function::New(env, Peak)); }
