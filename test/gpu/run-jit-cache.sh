#!/usr/bin/env bash
# run-jit-cache.sh BUNDLE_DIR
#
# Runs on the GPU machine (as root), from the repository root, on a bundle made by
# make-bundle.sh. The proof that each tenant has a JIT cache of its own (docs/design.md §6):
# vgpud runs with CUDA_CACHE_PATH=WORK/cache and two tenants, jit-a and jit-b; the driver-API
# program ptx_jit_link (PTX compiled by the driver's JIT, and linked) runs through each, with the
# driver hidden, and must print what it prints natively. Then:
#   - WORK/cache/tenant/jit-a and WORK/cache/tenant/jit-b each hold the driver's cache files;
#   - nothing lies in WORK/cache beside tenant/ (no tenant wrote to the shared base);
#   - a second run through jit-a adds no file to its cache (what it compiles is found there).
#
# Environment: OUT_LOG_DIR (keep logs), RUN_TIMEOUT (seconds per run, default 60),
# PROGRAM (default ptx_jit_link, from BUNDLE/programs-driver), VGPUD_DRIVER (default libcuda.so.1).
set -euo pipefail
[[ $# -eq 1 ]] || { echo "usage: $0 BUNDLE_DIR" >&2; exit 2; }
BUNDLE=$(cd "$1" && pwd)
RUN_TIMEOUT=${RUN_TIMEOUT:-60}
DEADLINE=""  # lib.sh's run_prog: no overall budget
PROGRAM=${PROGRAM:-ptx_jit_link}

LOG_TAG=run-jit-cache.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

setup_work vgpu-gpu-jit
mkdir -p "$OUTS" "$WORK/vgpud" "$WORK/cache"
chmod 0755 "$WORK/vgpud"
BIN=$BUNDLE/programs-driver/$PROGRAM
[[ -x "$BIN" ]] || { echo "error: $BIN is missing (make-bundle.sh)" >&2; exit 1; }

cat >"$WORK/vgpud/vgpu.yaml" <<YAML
vgpud:
  driver: ${VGPUD_DRIVER:-libcuda.so.1}
tenants:
  - name: jit-a
    gpus: [0]
    local:
      socket: $WORK/vgpud/jit-a.sock
  - name: jit-b
    gpus: [0]
    local:
      socket: $WORK/vgpud/jit-b.sock
YAML

# lib.sh turns the cache off for everything; vgpud here has it on, at a base of our choosing.
# The native run keeps it off, so that it compiles (its output does not depend on it either way).
unset CUDA_CACHE_DISABLE
export CUDA_CACHE_PATH=$WORK/cache
start_vgpud --keep-cuda-visible-devices "$WORK/vgpud/vgpu.yaml" "$LOGDIR/vgpud.log" \
  "$WORK/vgpud/jit-a.sock" "$WORK/vgpud/jit-b.sock" || exit 1

run_prog "$OUTS/native" "$BIN" -u VGPU_SOCKET -u CUDA_CACHE_PATH CUDA_CACHE_DISABLE=1

# through TENANT RUN: the program through TENANT's socket, driver hidden, compared with native.
through() {
  run_prog_hidden "$OUTS/$1-$2" "$BIN" -u CUDA_CACHE_PATH "LD_LIBRARY_PATH=$BUNDLE/driver" \
    "VGPU_SOCKET=$WORK/vgpud/$1.sock"
  compare "$PROGRAM, run $2" "$1" "$OUTS/native" "$OUTS/$1-$2"
}

# files DIR: how many files lie under DIR (0 when it does not exist).
files() { find "$1" -type f 2>/dev/null | wc -l; }

through jit-a 1
a_first=$(files "$WORK/cache/tenant/jit-a")
through jit-b 1
b_first=$(files "$WORK/cache/tenant/jit-b")
through jit-a 2
a_second=$(files "$WORK/cache/tenant/jit-a")
others=$(find "$WORK/cache" -mindepth 1 -maxdepth 1 ! -name tenant -printf '%f ' 2>/dev/null)
tenants=$(find "$WORK/cache/tenant" -mindepth 1 -maxdepth 1 -printf '%f ' 2>/dev/null | xargs -n1 | sort | xargs)

record "jit-a's cache filled" jit-a "-" "$a_first files" "-" $((a_first > 0)) \
  "no file under cache/tenant/jit-a after a PTX program ran there"
record "jit-b's cache filled" jit-b "-" "$b_first files" "-" $((b_first > 0)) \
  "no file under cache/tenant/jit-b after a PTX program ran there"
record "only tenant/ in the base" "" "-" "${others:-nothing else}" "-" "$([[ -z "$others" ]] && echo 1 || echo 0)" \
  "the base cache folder holds $others"
record "one folder per tenant" "" "-" "$tenants" "-" "$([[ "$tenants" == "jit-a jit-b" ]] && echo 1 || echo 0)" \
  "cache/tenant holds: $tenants"
record "second run found its cache" jit-a "-" "$a_first -> $a_second files" "-" \
  "$([[ "$a_second" == "$a_first" ]] && echo 1 || echo 0)" "the second run through jit-a added cache files"
(cd "$WORK/cache" && find . -type f -printf '%p %s\n' | sort) >"$LOGDIR/cache-files.txt"

stop_vgpud "$VGPUD_PID"
record "vgpud SIGTERM -> exit 0" "" "-" "rc=$STOP_RC" "-" "$([[ "$STOP_RC" == 0 ]] && echo 1 || echo 0)" "vgpud exit: $STOP_RC"

echo
{
  printf '%-32s | %-7s | %s\n' check tenant result
  for i in "${!R_NAME[@]}"; do
    printf '%-32s | %-7s | %s\n' "${R_NAME[$i]}" "${R_TENANT[$i]:--}" "${R_VGPU[$i]}"
  done
  echo
  if [[ ${#DETAILS[@]} -gt 0 ]]; then
    echo "failures:"
    printf '%s\n\n' "${DETAILS[@]}"
  fi
  echo "$PASSED passed, $FAILED failed"
} | tee "$LOGDIR/report.txt"
[[ $FAILED -eq 0 ]]
