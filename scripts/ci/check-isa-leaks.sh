#!/usr/bin/env bash
# Checks that AVX-512/AMX instructions appear only in code from the ISA-specific files
# (*_avx512*.cc, *_amx.cc): no function defined by a shared file may contain them in the
# final addon (an inline function instantiated in an ISA file could otherwise be picked by the
# linker for everyone).
set -euo pipefail
build=${1:-build}
node_file="$build/Release/moontrain.node"
objdir="$build/CMakeFiles/moontrain.dir"
wide='%zmm|%k[1-7]|%tmm|%[xy]mm(1[6-9]|2[0-9]|3[01])|ldtilecfg|tileload|tdpbf16|vdpbf16|\{1to'
# Functions of the final addon that use wide instructions.
objdump -d --no-show-raw-insn "$node_file" | awk -v re="$wide" '
  /^[0-9a-f]+ <.*>:$/ { fn = $2; gsub(/[<>:]/, "", fn); next }
  $0 ~ re { if (fn != "") print fn }' | sort -u > /tmp/moontrain-wide-fns.txt
# Functions defined by shared (non-ISA) object files.
find "$objdir" -name '*.o' ! -name '*_avx512*' ! -name '*_amx*' -print0 |
  xargs -0 nm --defined-only | awk '$2 ~ /[TtWw]/ { print $3 }' | sort -u > /tmp/moontrain-shared-fns.txt
leaks=$(comm -12 /tmp/moontrain-wide-fns.txt /tmp/moontrain-shared-fns.txt || true)
count=$(wc -l < /tmp/moontrain-wide-fns.txt)
if [ -n "$leaks" ]; then
  echo "AVX-512/AMX instructions leaked into shared functions:"
  echo "$leaks" | c++filt
  exit 1
fi
echo "isa-leaks: OK ($count functions use AVX-512/AMX, all from the ISA-specific files)"
