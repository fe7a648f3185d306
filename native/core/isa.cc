// Built for plain x86-64 (no AVX) so the floor check itself runs on any CPU.
#include "isa.h"

#include <cpuid.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <mutex>

namespace mt {

namespace {

struct CpuFeatures {
  bool avx2 = false, fma = false, avx512 = false, avx512_bf16 = false, amx_bf16 = false, amx_tile = false;
  bool os_avx = false, os_avx512 = false, os_amx = false;
};

uint64_t xgetbv0() {
  uint32_t lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (static_cast<uint64_t>(hi) << 32) | lo;
}

CpuFeatures detect() {
  CpuFeatures f;
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return f;
  f.fma = c & (1u << 12);
  const bool osxsave = c & (1u << 27);
  if (osxsave) {
    const uint64_t xcr0 = xgetbv0();
    f.os_avx = (xcr0 & 0x6) == 0x6;
    f.os_avx512 = (xcr0 & 0xe6) == 0xe6;
    f.os_amx = (xcr0 & 0x60000) == 0x60000;
  }
  if (__get_cpuid_max(0, nullptr) < 7) return f;
  __cpuid_count(7, 0, a, b, c, d);
  f.avx2 = b & (1u << 5);
  // AVX-512 F, DQ, BW and VL: what the AVX-512 kernels are compiled for.
  f.avx512 = (b & (1u << 16)) && (b & (1u << 17)) && (b & (1u << 30)) && (b & (1u << 31));
  f.amx_bf16 = d & (1u << 22);
  f.amx_tile = d & (1u << 24);
  __cpuid_count(7, 1, a, b, c, d);
  f.avx512_bf16 = a & (1u << 5);
  return f;
}

// Linux keeps AMX tile data disabled until the process asks for it.
bool request_amx_permission() {
  constexpr long kArchReqXcompPerm = 0x1023;
  constexpr long kXfeatureXtiledata = 18;
  return syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) == 0;
}

Isa compute_available() {
  const CpuFeatures f = detect();
  if (!(f.avx2 && f.fma && f.os_avx)) return Isa::Scalar;
  if (!(f.avx512 && f.os_avx512)) return Isa::Avx2;
  if (!f.avx512_bf16) return Isa::Avx512;
  if (!(f.amx_bf16 && f.amx_tile && f.os_amx) || !request_amx_permission()) return Isa::Avx512Bf16;
  return Isa::Amx;
}

std::once_flag g_once;
Isa g_available = Isa::Scalar;
std::atomic<int> g_active{0};

void init() {
  std::call_once(g_once, [] {
    g_available = compute_available();
    Isa active = g_available;
    if (const char* env = std::getenv("MOONTRAIN_ISA")) {
      Isa want;
      if (parse_isa(env, &want) && want < active) active = want;
    }
    g_active.store(static_cast<int>(active));
  });
}

}  // namespace

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::Amx: return "amx";
    case Isa::Avx512Bf16: return "avx512bf16";
    case Isa::Avx512: return "avx512";
    case Isa::Avx2: return "avx2";
    default: return "scalar";
  }
}

bool parse_isa(const std::string& name, Isa* out) {
  for (Isa i : {Isa::Scalar, Isa::Avx2, Isa::Avx512, Isa::Avx512Bf16, Isa::Amx}) {
    if (name == isa_name(i)) {
      *out = i;
      return true;
    }
  }
  return false;
}

Isa isa_available() {
  init();
  return g_available;
}

Isa isa_active() {
  init();
  return static_cast<Isa>(g_active.load(std::memory_order_relaxed));
}

void set_isa(Isa isa) {
  init();
  g_active.store(static_cast<int>(isa < g_available ? isa : g_available));
}

std::vector<std::string> isa_available_names() {
  std::vector<std::string> r;
  for (int i = 0; i <= static_cast<int>(isa_available()); ++i) r.push_back(isa_name(static_cast<Isa>(i)));
  return r;
}

std::string cpu_floor_problem() {
  const CpuFeatures f = detect();
  if (f.avx2 && f.fma && f.os_avx) return "";
  return "moontrain needs an x86-64 CPU with AVX2 and FMA (Intel Haswell / AMD Excavator or newer); this CPU "
         "or OS does not provide them";
}

}  // namespace mt
