// Which instruction-set path runs: detected once by CPUID, lowered by MOONTRAIN_ISA.
#pragma once
#include <string>
#include <vector>

namespace mt {

// Ordered: each level includes the ones below it.
enum class Isa : int { Scalar = 0, Avx2 = 1, Avx512 = 2, Avx512Bf16 = 3, Amx = 4 };

const char* isa_name(Isa isa);
// Highest level this CPU and OS support (AMX only once the OS granted tile state).
Isa isa_available();
// The level in use: isa_available(), or lower when MOONTRAIN_ISA / set_isa asked for it.
Isa isa_active();
// Lowers (or restores) the active level; a level above isa_available() is clamped to it.
void set_isa(Isa isa);
bool parse_isa(const std::string& name, Isa* out);
std::vector<std::string> isa_available_names();
// Message for a CPU without AVX2+FMA (the build's floor), or empty.
std::string cpu_floor_problem();

}  // namespace mt
