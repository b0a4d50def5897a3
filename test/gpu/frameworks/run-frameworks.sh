#!/usr/bin/env bash
# run-frameworks.sh BUNDLE_DIR
#
# Runs on the GPU machine (as root), from the repository root, on a bundle made by
# make-bundle.sh. The frameworks' proof: each case (a Python script of this folder) runs
# natively, then with the real driver hidden (hide-driver.sh) and vgpu's libcuda.so.1 and
# libnvidia-ml.so.1 (BUNDLE/driver) first on LD_LIBRARY_PATH, talking to a vgpud on the same
# machine. Each prints its results as JSON (results.py); compare.py checks the two within each
# result's tolerance. The frameworks are the machine's own, as installed from their wheels.
#
# Each case is an executable script (#!/usr/bin/env python3): the python3 on PATH with the
# frameworks. Environment: OUT_LOG_DIR (keep logs), RUN_TIMEOUT (seconds per run, default 300),
# CASES (a subset, by name without .py), TOTAL_BUDGET (seconds for the whole run).
set -euo pipefail
[[ $# -eq 1 ]] || { echo "usage: $0 BUNDLE_DIR" >&2; exit 2; }
BUNDLE=$(cd "$1" && pwd)
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
RUN_TIMEOUT=${RUN_TIMEOUT:-300}
DEADLINE=""
[[ -n "${TOTAL_BUDGET:-}" ]] && DEADLINE=$((SECONDS + TOTAL_BUDGET - 20))
PYTHON=$(command -v python3)
TENANT=frameworks

LOG_TAG=run-frameworks.sh
. "$HERE/../lib.sh"

setup_work vgpu-gpu-frameworks
mkdir -p "$OUTS/native" "$OUTS/vgpu" "$WORK/vgpud"
chmod 0755 "$WORK/vgpud"
for f in "$BUNDLE/bin/vgpud" "$BUNDLE/driver/libcuda.so.1"; do
  [[ -e "$f" ]] || { echo "error: $f is missing (make-bundle.sh)" >&2; exit 1; }
done

declare -a CASE_LIST=()
for f in "$HERE"/*.py; do
  c=$(basename "$f" .py)
  [[ "$c" == results || "$c" == compare ]] && continue
  if [[ -z "${CASES:-}" || " ${CASES//,/ } " == *" $c "* ]]; then CASE_LIST+=("$c"); fi
done

# The tenant has every GPU of the machine (torch_multi_gpu needs two) and a memory limit below
# the GPU's, so that what NVML and the frameworks report is the tenant's view, not the GPU's.
SOCK=$WORK/vgpud/$TENANT.sock
GPU_COUNT=$(nvidia-smi -L | grep -c '^GPU ')
GPUS=$(seq -s, 0 $((GPU_COUNT - 1)))
MEMORY_LIMIT_MIB=${MEMORY_LIMIT_MIB:-102400}
cat >"$WORK/vgpud/vgpu.yaml" <<YAML
tenants:
  - name: $TENANT
    gpus: [$GPUS]
    limits:
      device_memory: ${MEMORY_LIMIT_MIB}MiB
    local:
      socket: $SOCK
YAML
start_vgpud --keep-cuda-visible-devices "$WORK/vgpud/vgpu.yaml" "$LOGDIR/vgpud.log" "$SOCK" || exit 1
record "vgpud start" "" "-" "socket up" "-" 1 ""

# compare_case NAME: both runs, then compare.py on their JSON.
compare_case() {
  local c=$1 nrc vrc same=no pass=0 detail="" diffs
  RUN_CWD=$HERE run_prog "$OUTS/native/$c" "$HERE/$c.py" -u VGPU_SOCKET
  RUN_CWD=$HERE run_prog_hidden "$OUTS/vgpu/$c" "$HERE/$c.py" "LD_LIBRARY_PATH=$BUNDLE/driver" "VGPU_SOCKET=$SOCK"
  nrc=$(cat "$OUTS/native/$c.rc")
  vrc=$(cat "$OUTS/vgpu/$c.rc")
  if diffs=$("$PYTHON" "$HERE/compare.py" "$OUTS/native/$c.out" "$OUTS/vgpu/$c.out" 2>&1); then same=yes; fi
  if [[ "$same" == yes && "$nrc" == 0 && "$vrc" == 0 ]]; then
    pass=1
  else
    detail="exit codes native=$nrc vgpu=$vrc; differences:
$diffs
vgpu stderr (last lines):
$(tail -n 25 "$OUTS/vgpu/$c.err")"
  fi
  record "$c" "" "$(rc_cell "$nrc") $(cat "$OUTS/native/$c.ms")ms" "$(rc_cell "$vrc") $(cat "$OUTS/vgpu/$c.ms")ms" "$same" "$pass" "$detail"
}

# The hiding works: PyTorch with the driver hidden and without vgpu finds no GPU.
cat >"$WORK/cwd/hidden.py" <<'PY'
#!/usr/bin/env python3
import sys
import torch
sys.exit(0 if torch.cuda.is_available() else 3)
PY
chmod +x "$WORK/cwd/hidden.py"
run_prog_hidden "$OUTS/hidden" "$WORK/cwd/hidden.py" -u VGPU_SOCKET
hidden_rc=$(cat "$OUTS/hidden.rc")
record "torch, driver hidden, finds no GPU" "" "rc=$hidden_rc" "-" "yes" $((hidden_rc == 3)) \
  "torch found a GPU with the driver hidden (rc=$hidden_rc): the hiding does not work"

# As the guest package does, vgpu's libraries are in the loader's cache too (hide-driver.sh).
export VGPU_GUEST_LIBDIR=$BUNDLE/driver
for c in "${CASE_LIST[@]}"; do compare_case "$c"; done

# ---- NVML's view: nvidia-smi and vgpu-smi through the shim, while a PyTorch process of the
# tenant holds a context. Both must show the tenant's memory limit as the total, and the process.
cat >"$WORK/cwd/holder.py" <<'PY'
#!/usr/bin/env python3
import time
import torch
x = torch.ones(64 << 20, dtype=torch.uint8, device="cuda")
torch.cuda.synchronize()
print("ready", flush=True)
time.sleep(30)
PY
chmod +x "$WORK/cwd/holder.py"
GUEST_ENV=("LD_LIBRARY_PATH=$BUNDLE/driver:$BUNDLE/lib" "VGPU_SOCKET=$SOCK")
run_prog_hidden "$OUTS/holder" "$WORK/cwd/holder.py" "${GUEST_ENV[@]}" &
holder=$!
for ((i = 0; i < 300; i++)); do grep -q ready "$OUTS/holder.out" 2>/dev/null && break; sleep 0.1; done
NVSMI=$(command -v nvidia-smi || echo /usr/bin/nvidia-smi)
# At debug the shim names each NVML call it does not answer: what nvidia-smi asked in vain.
run_prog_hidden "$OUTS/nvidia-smi" "$NVSMI" "${GUEST_ENV[@]}" "VGPU_LOG=debug"
# (run_prog passes a program no arguments: these two take theirs from a script.)
printf '#!/bin/sh\nexec %s --query-gpu=name,memory.total --format=csv,noheader,nounits\n' "$NVSMI" >"$WORK/cwd/nvsmi-query"
printf '#!/bin/sh\nexec %s --json\n' "$BUNDLE/bin/vgpu-smi" >"$WORK/cwd/vgpu-smi-json"
printf '#!/bin/sh\nexec %s -q\n' "$NVSMI" >"$WORK/cwd/nvsmi-q"
printf '#!/bin/sh\nexec %s pmon -c 1\n' "$NVSMI" >"$WORK/cwd/nvsmi-pmon"
printf '#!/bin/sh\nexec %s dmon -c 1\n' "$NVSMI" >"$WORK/cwd/nvsmi-dmon"
chmod +x "$WORK/cwd/nvsmi-query" "$WORK/cwd/vgpu-smi-json" "$WORK/cwd/nvsmi-q" "$WORK/cwd/nvsmi-pmon" \
  "$WORK/cwd/nvsmi-dmon"
run_prog_hidden "$OUTS/nvidia-smi-query" "$WORK/cwd/nvsmi-query" "${GUEST_ENV[@]}"
run_prog_hidden "$OUTS/nvidia-smi-q" "$WORK/cwd/nvsmi-q" "${GUEST_ENV[@]}" "VGPU_LOG=debug"
run_prog_hidden "$OUTS/nvidia-smi-pmon" "$WORK/cwd/nvsmi-pmon" "${GUEST_ENV[@]}"
run_prog_hidden "$OUTS/nvidia-smi-dmon" "$WORK/cwd/nvsmi-dmon" "${GUEST_ENV[@]}"
# The host's own view, kept beside it for reading (the GPU's memory and processes, not the tenant's).
run_prog "$OUTS/nvidia-smi-q-host" "$WORK/cwd/nvsmi-q"
run_prog_hidden "$OUTS/vgpu-smi" "$BUNDLE/bin/vgpu-smi" "${GUEST_ENV[@]}"
run_prog_hidden "$OUTS/vgpu-smi-json" "$WORK/cwd/vgpu-smi-json" "${GUEST_ENV[@]}"
kill "$holder" 2>/dev/null || true
wait "$holder" 2>/dev/null || true
smi_check() {  # LABEL PREFIX PATTERN...: rc 0 and every pattern in stdout
  local label=$1 prefix=$2 pass=1 missing="" p
  shift 2
  [[ "$(cat "$prefix.rc")" == 0 ]] || pass=0
  for p in "$@"; do grep -q -- "$p" "$prefix.out" || { pass=0; missing+=" '$p'"; }; done
  record "$label" "" "-" "rc=$(cat "$prefix.rc")" "-" "$pass" \
    "missing:$missing; stdout:
$(head -n 40 "$prefix.out")
stderr:
$(grep -v "is not supported by vgpu" "$prefix.err" | tail -n 10)
NVML calls not answered: $(grep -o "[A-Za-z0-9_]* is not supported by vgpu" "$prefix.err" | cut -d' ' -f1 | tr '\n' ' ')"
}
smi_check "nvidia-smi through the shim: the tenant's limit, the process" "$OUTS/nvidia-smi" "${MEMORY_LIMIT_MIB}MiB" "python3"
smi_check "nvidia-smi --query-gpu through the shim" "$OUTS/nvidia-smi-query" "H200, ${MEMORY_LIMIT_MIB}"
smi_check "nvidia-smi -q through the shim" "$OUTS/nvidia-smi-q" "${MEMORY_LIMIT_MIB} MiB" "python3"
# pmon: the guest's process on GPU 0 (its samples "-"); dmon: a row for GPU 0 (the tenant's sm
# and mem, "-" for the host's sensors and clocks).
smi_check "nvidia-smi pmon through the shim: the process" "$OUTS/nvidia-smi-pmon" " C  .* python3"
smi_check "nvidia-smi dmon through the shim" "$OUTS/nvidia-smi-dmon" "^ *0 *- *- *- *[0-9]"
smi_check "vgpu-smi: devices, memory, the process" "$OUTS/vgpu-smi" "H200" "python3"
smi_check "vgpu-smi --json" "$OUTS/vgpu-smi-json" '"devices"' '"processes"' "python3"

record_vgpud_end

echo
report_table case 16 | tee "$LOGDIR/report.txt"
[[ $FAILED -eq 0 ]]
