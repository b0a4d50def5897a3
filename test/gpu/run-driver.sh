#!/usr/bin/env bash
# run-driver.sh BUNDLE_DIR
#
# Runs on the GPU machine (as root), from the repository root, on a bundle made by
# make-bundle.sh. The proof for vgpu's libcuda.so.1: every test program built the ordinary way
# (nvcc's default static runtime, BUNDLE/programs-static) runs natively and then with the real
# driver hidden (hide-driver.sh) and BUNDLE/driver (vgpu's libcuda.so.1) first on
# LD_LIBRARY_PATH, talking to a vgpud on the same machine; stdout and exit code must match.
# NVIDIA's runtime, linked into each program, finds the driver through dlopen("libcuda.so.1"),
# cuGetProcAddress and its private export tables, so this runs NVIDIA's runtime itself over vgpu.
# Then the same for every executable in BUNDLE/programs-driver (programs written against the
# driver API alone, linked only against libcuda.so.1; their .cubin/.fatbin/.ptx companions lie
# beside them) and, if that folder exists, BUNDLE/samples-static (cuda-samples, static runtime).
#
# Environment: OUT_LOG_DIR (keep logs), RUN_TIMEOUT (seconds per run, default 60),
# MODULE_CACHE_MEMORY (the tenant's limits.module_cache_memory; 0 turns the cache off),
# TOTAL_BUDGET (seconds for the whole run), PROGRAMS (a subset: names, matched in every folder),
# EXTRA_DIR (a folder of more
# executables to compare the same way, e.g. driver-trace/build-programs.sh's), VGPUD_DRIVER
# (default libcuda.so.1).
set -euo pipefail
[[ $# -eq 1 ]] || { echo "usage: $0 BUNDLE_DIR" >&2; exit 2; }
BUNDLE=$(cd "$1" && pwd)
RUN_TIMEOUT=${RUN_TIMEOUT:-60}
DEADLINE=""
[[ -n "${TOTAL_BUDGET:-}" ]] && DEADLINE=$((SECONDS + TOTAL_BUDGET - 25))
VGPUD_DRIVER=${VGPUD_DRIVER:-libcuda.so.1}
TENANT=gpu-driver

LOG_TAG=run-driver.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

setup_work vgpu-gpu-driver
mkdir -p "$OUTS/native" "$OUTS/vgpu" "$WORK/vgpud"
chmod 0755 "$WORK/vgpud"

for f in "$BUNDLE/bin/vgpud" "$BUNDLE/driver/libcuda.so.1" "$BUNDLE/programs-static"; do
  [[ -e "$f" ]] || { echo "error: $f is missing (make-bundle.sh)" >&2; exit 1; }
done

# lib.sh's list_programs: the executables of each folder (companion files are not executable),
# only those named in PROGRAMS when it is set.
declare -a PROGS=() DRIVER_PROGS=() SAMPLES=()
while IFS= read -r p; do PROGS+=("$p"); done < <(list_programs "$BUNDLE/programs-static" "${PROGRAMS:-}")
while IFS= read -r p; do DRIVER_PROGS+=("$p"); done < <(list_programs "$BUNDLE/programs-driver" "${PROGRAMS:-}")
while IFS= read -r p; do SAMPLES+=("$p"); done < <(list_programs "$BUNDLE/samples-static" "${PROGRAMS:-}")
[[ -d "$BUNDLE/programs-driver" ]] || log "note: $BUNDLE/programs-driver is missing (an older bundle?)"

SOCK=$WORK/vgpud/$TENANT.sock
cat >"$WORK/vgpud/vgpu.yaml" <<YAML
vgpud:
  driver: $VGPUD_DRIVER
tenants:
  - name: $TENANT
    gpus: [0]
    local:
      socket: $SOCK
${MODULE_CACHE_MEMORY:+    limits:
      module_cache_memory: $MODULE_CACHE_MEMORY}
YAML
start_vgpud --keep-cuda-visible-devices "$WORK/vgpud/vgpu.yaml" "$LOGDIR/vgpud.log" "$SOCK" || exit 1
record "vgpud start" "" "-" "socket up" "-" 1 ""

# The hiding works: NVIDIA's runtime alone, driver hidden, must fail.
first=${PROGS[0]:-$(list_programs "$BUNDLE/programs-static" | sed -n 1p)}  # sed reads all: no SIGPIPE
run_prog_hidden "$OUTS/hidden-$first" "$BUNDLE/programs-static/$first" -u VGPU_SOCKET
hidden_rc=$(cat "$OUTS/hidden-$first.rc")
record "native $first, driver hidden, fails" "" "rc=$hidden_rc" "-" "yes" $((hidden_rc != 0)) \
  "$first ran with the driver hidden: the hiding does not work"

# compare_program LABEL BINARY [KEY]: native, then through vgpu's libcuda.so.1 with the driver
# hidden. KEY (default the binary's name) names the outputs, so that the same name in two folders
# does not collide.
compare_program() {
  local label=$1 bin=$2 p kind=${4:-program}
  p=${3:-$(basename "$bin")}
  run_prog "$OUTS/native/$p" "$bin" -u VGPU_SOCKET
  run_prog_hidden "$OUTS/vgpu/$p" "$bin" "LD_LIBRARY_PATH=$BUNDLE/driver" "VGPU_SOCKET=$SOCK"
  compare "$label" "$TENANT" "$OUTS/native/$p" "$OUTS/vgpu/$p" "$kind"
}

for p in "${PROGS[@]}"; do
  compare_program "$p (static runtime)" "$BUNDLE/programs-static/$p"
done
# The driver-API programs find their .cubin/.fatbin/.ptx beside themselves (/proc/self/exe).
for p in "${DRIVER_PROGS[@]}"; do
  compare_program "$p (driver API)" "$BUNDLE/programs-driver/$p" "driver-$p"
done
# The samples look for their data files in the working folder, and some write one there.
for p in "${SAMPLES[@]}"; do
  RUN_CWD=$BUNDLE/samples-static compare_program "$p (sample, static)" "$BUNDLE/samples-static/$p" "sample-$p" sample
done
if [[ -n "${EXTRA_DIR:-}" ]]; then
  while IFS= read -r p; do
    compare_program "$p" "$EXTRA_DIR/$p"
  done < <(find "$EXTRA_DIR" -maxdepth 1 -type f -perm -u+x -printf '%f\n' | sort)
fi

record_vgpud_end

echo
report_table program 10 | tee "$LOGDIR/report.txt"
[[ $FAILED -eq 0 ]]
