# Sourced by the device scripts (device-check.sh, gpu-run.sh) on a host that may have no Node.js:
# puts a node on PATH (the host's when it is Node 20, else the packed one from .device/), unpacks
# the runtime node_modules and the installed package, finds a Python with torch; records the host
# in $out/host.txt and defines log and part. Expects $root, $out and $scratch.
log() { echo "== $* ($(date +%T))" | tee -a "$out/summary.txt"; }
part() { # part NAME SECONDS CMD...: runs CMD with a time limit, output to $out/NAME.txt
  local name=$1 limit=$2
  shift 2
  log "$name"
  timeout --kill-after=5 "$limit" "$@" >"$out/$name.txt" 2>&1
  local rc=$?
  echo "   $name: exit $rc" | tee -a "$out/summary.txt"
  tail -3 "$out/$name.txt" | sed 's/^/   | /' | tee -a "$out/summary.txt"
}

log "host"
{
  date -u
  uname -a
  ldd --version 2>&1 | head -1
  grep -m1 'model name' /proc/cpuinfo
  echo "cpus: $(nproc)"
  grep -m1 -o 'amx_bf16\|avx512_bf16' /proc/cpuinfo | sort -u | tr '\n' ' '
  echo
  nvidia-smi --query-gpu=name,memory.total,driver_version,compute_cap --format=csv 2>&1 || echo "nvidia-smi: not found"
  command -v node && node --version
  for py in python3 /usr/bin/python3 /opt/conda/bin/python3; do
    command -v "$py" >/dev/null && "$py" -c "import sys, torch; print(sys.executable, 'torch', torch.__version__, 'cuda', torch.cuda.is_available())" 2>&1 | tail -1
  done
} >"$out/host.txt" 2>&1
cat "$out/host.txt" | tee -a "$out/summary.txt"

# Node: the host's when it has one, else the packed binary.
if ! command -v node >/dev/null || [ "$(node -p 'process.versions.modules' 2>/dev/null)" != 115 ]; then
  xz -dc .device/node.xz >"$scratch/node" && chmod +x "$scratch/node"
  export PATH="$scratch:$PATH"
fi
[ -d node_modules ] || tar -xJf .device/node_modules.tar.xz
mkdir -p "$scratch/app" && tar -C "$scratch/app" -xJf .device/app.tar.xz
# A host whose libstdc++ predates GCC 12 gets the one the prebuild was linked against.
if ! node -e "require('node-gyp-build')('.')" 2>"$scratch/load.err"; then
  cat "$scratch/load.err" | tee -a "$out/summary.txt"
  grep -q GLIBCXX "$scratch/load.err" && export LD_LIBRARY_PATH="$root/.device/lib" && log "using the packed libstdc++"
fi
for py in /usr/bin/python3 python3 /opt/conda/bin/python3; do
  if command -v "$py" >/dev/null && "$py" -c 'import torch, numpy' 2>/dev/null; then export MOONTRAIN_PYTHON=$(command -v "$py"); break; fi
done
