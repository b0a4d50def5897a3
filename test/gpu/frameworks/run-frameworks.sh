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

SOCK=$WORK/vgpud/$TENANT.sock
cat >"$WORK/vgpud/vgpu.yaml" <<YAML
tenants:
  - name: $TENANT
    gpus: [0]
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

if is_alive "$VGPUD_PID"; then
  record "vgpud alive at end" "" "-" "alive" "-" 1 ""
  stop_vgpud "$VGPUD_PID"
  record "vgpud SIGTERM -> exit 0" "" "-" "rc=$STOP_RC" "-" "$([[ "$STOP_RC" == 0 ]] && echo 1 || echo 0)" "vgpud exit: $STOP_RC"
else
  record "vgpud alive at end" "" "-" "died" "-" 0 "see vgpud.log"
fi

report() {
  local w=8 i n
  for n in "${R_NAME[@]}"; do ((${#n} > w)) && w=${#n}; done
  printf "%-${w}s | %-16s | %-16s | %s\n" case native vgpu match
  printf '%*s\n' $((w + 50)) '' | tr ' ' '-'
  for i in "${!R_NAME[@]}"; do
    printf "%-${w}s | %-16s | %-16s | %s\n" "${R_NAME[$i]}" "${R_NATIVE[$i]}" "${R_VGPU[$i]}" "${R_MATCH[$i]}"
  done
  echo
  if [[ ${#DETAILS[@]} -gt 0 ]]; then
    echo "failures:"
    printf '%s\n\n' "${DETAILS[@]}"
  fi
  echo "$PASSED passed, $FAILED failed"
}
echo
report | tee "$LOGDIR/report.txt"
[[ $FAILED -eq 0 ]]
