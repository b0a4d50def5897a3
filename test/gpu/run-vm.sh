#!/usr/bin/env bash
# run-vm.sh BUNDLE_DIR
#
# Runs on the GPU machine (as root), from the repository root, on a bundle made by
# make-bundle.sh, samples.sh and make-vm-bundle.sh. The whole chain from a guest VM to the GPU:
# guest app -> libvgpu-cudart or NVIDIA's runtime over vgpu's libcuda.so.1 -> vgpu-stub (MMIO
# doorbell, BAR2 rings) -> mediator -> executor -> GPU.
#
# Four sets of programs, each a folder of the bundle and the same folder under /opt/gpu in the
# guest image:
#   programs         test/gpu/programs, nvcc -cudart shared: they load the guest's libcudart.so.13
#   samples          the cuda-samples of samples.sh, built the same way
#   programs-static  test/gpu/programs again, nvcc's default static runtime: NVIDIA's runtime in
#                    each binary finds the driver with dlopen("libcuda.so.1"), which in the guest
#                    is vgpu's driver shim (/usr/lib/vgpu/libcuda.so.1; the image has no NVIDIA
#                    driver), as run-driver.sh does on the host
#   programs-driver  test/gpu/programs-driver: the driver API alone, NEEDED libcuda.so.1, each
#                    with its .cubin/.fatbin/.ptx beside it (found through /proc/self/exe)
#
#   1. every program of the chosen sets runs natively (the real runtime and driver);
#   2. vgpud starts (real driver) with one VM tenant; QEMU (packed, TCG) boots the guest image
#      with the stub, and the guest runs the same programs as an unprivileged user of group
#      vgpu (test/vm/guest-tests/gpu-programs.sh); stdout and exit code must match native
#      (samples: after dropping their timing lines, as in run.sh). After a set's kernel_fault,
#      that set's vector_add runs once more (KIND/vector_add.after), on both sides;
#   3. a second boot runs trace_malloc with the shim's debug trace; vgpud's counters before and
#      after it give the per-hop counts of that one program, and both sides' debug lines for
#      its cudaMalloc are printed;
#   4. vgpud must still be running, hold no device memory, and exit 0 on SIGTERM.
#
# Environment: OUT_LOG_DIR (keep logs: vgpud.log, consoles, report.txt), CUDA_LIB (default
# /usr/local/cuda/lib64), VM_TIMEOUT (seconds for the programs' boot, default 420),
# VGPU_GPU_SETS (comma-separated sets to run, default all four; a set the bundle lacks is left
# out), VGPU_GPU_ONLY (comma-separated program names, matched in every chosen set),
# VGPUD_DRIVER (default libcuda.so.1).
set -euo pipefail
[[ $# -eq 1 ]] || { echo "usage: $0 BUNDLE_DIR" >&2; exit 2; }
BUNDLE=$(cd "$1" && pwd)
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CUDA_LIB=${CUDA_LIB:-/usr/local/cuda/lib64}
VGPUD_DRIVER=${VGPUD_DRIVER:-libcuda.so.1}
LOG_TAG=run-vm.sh
ALL_SETS="programs,samples,programs-static,programs-driver"
VGPU_GPU_SETS=${VGPU_GPU_SETS:-$ALL_SETS}
for set in ${VGPU_GPU_SETS//,/ }; do
  [[ ",$ALL_SETS," == *",$set,"* ]] || { echo "error: VGPU_GPU_SETS: unknown set '$set' (sets: $ALL_SETS)" >&2; exit 2; }
done
# log, make_work_dirs, list_programs; also compare.sh's filter_sample.
# shellcheck source=test/gpu/lib.sh
. "$REPO/test/gpu/lib.sh"
# WORK and LOGDIR. Unlike setup_work's callers, this script leaves WORK in place and packs nothing.
make_work_dirs vgpu-gpu-vm
mkdir -p "$WORK/native" "$WORK/vm" "$WORK/cwd"
rm -f "$LOGDIR/differences.txt"
VGPUD_PID=""
trap '[[ -n "$VGPUD_PID" ]] && kill -KILL "$VGPUD_PID" 2>/dev/null; true' EXIT

# build-guest.sh writes the initramfs as .gz or .xz (make-vm-bundle.sh: xz); boot.sh takes either.
initrd=$(compgen -G "$BUNDLE/vm/initramfs.cpio.[gx]z" | head -n 1 || true)
for f in "$BUNDLE/bin/vgpud" "$BUNDLE/vm/vmlinuz" "${initrd:-$BUNDLE/vm/initramfs.cpio.xz}" "$BUNDLE/vm/qemu.tar.xz"; do
  [[ -e "$f" ]] || { echo "error: $f is missing (make-bundle.sh, then make-vm-bundle.sh)" >&2; exit 1; }
done
log "GPU: $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null | head -1)"

# ---- 1. native ----------------------------------------------------------------------------------
# LABELS: KIND/NAME for every program of the chosen sets (as gpu-programs.sh runs them in the
# guest), plus KIND/vector_add.after after a set's kernel_fault.
declare -a LABELS=()
for kind in ${VGPU_GPU_SETS//,/ }; do
  if [[ ! -d "$BUNDLE/$kind" ]]; then log "note: $BUNDLE/$kind is missing: set $kind left out"; continue; fi
  while IFS= read -r name; do
    LABELS+=("$kind/$name")
    [[ "$name" == kernel_fault && -x "$BUNDLE/$kind/vector_add" ]] && LABELS+=("$kind/vector_add.after")
  done < <(list_programs "$BUNDLE/$kind" "${VGPU_GPU_ONLY:-}")
done
native_run() {  # native_run LABEL: BUNDLE/LABEL (without .after) with the real runtime and driver
  local out=$WORK/native/${1//\//_} rc=0
  # argv[0] as in the guest (/opt/gpu/...): some samples print it. The driver-API programs find
  # their companion files through /proc/self/exe, which exec -a leaves alone.
  # shellcheck disable=SC2016  # $0 and $1 expand in the child bash
  (cd "$WORK/cwd" && LD_LIBRARY_PATH=$CUDA_LIB timeout -k 5 120 \
    bash -c 'exec -a "$0" "$1"' "/opt/gpu/${1%.after}" "$BUNDLE/${1%.after}") \
    >"$out.out" 2>"$out.err" </dev/null || rc=$?
  echo "$rc" >"$out.rc"
}
for label in "${LABELS[@]}"; do native_run "$label"; done
log "native runs done (${#LABELS[@]} runs)"

# ---- 2. vgpud, QEMU, the guest ------------------------------------------------------------------
tar -C "$WORK" -xJf "$BUNDLE/vm/qemu.tar.xz"
export QEMU=$WORK/q/qemu QEMU_DATA_DIR=$WORK/q/share QEMU_MODULE_DIR=$WORK/q/modules
cat >"$WORK/vgpu.yaml" <<EOF
vgpud:
  log_level: debug
  driver: $VGPUD_DRIVER
  control_socket: $WORK/control.sock
tenants:
  - name: gpu-vm
    gpus: [0]
    limits:
      pinned_memory: 192MiB
      staging_memory: 16MiB
    vm:
      socket: $WORK/gpu-vm.sock
      region_size: 1GiB
      slots: 4
EOF
VGPUD=("env" "LD_LIBRARY_PATH=$BUNDLE/lib" "$BUNDLE/bin/vgpud" --config "$WORK/vgpu.yaml")
"${VGPUD[@]}" >"$LOGDIR/vgpud.log" 2>&1 </dev/null &
VGPUD_PID=$!
for _ in $(seq 300); do [[ -S "$WORK/gpu-vm.sock" && -S "$WORK/control.sock" ]] && break; sleep 0.1; done
[[ -S "$WORK/gpu-vm.sock" ]] || { tail -20 "$LOGDIR/vgpud.log"; echo "error: vgpud did not start" >&2; exit 1; }
QEMU_ARGS=$("${VGPUD[@]}" qemu-args gpu-vm)
log "vgpud qemu-args gpu-vm: $QEMU_ARGS"
VGPU_VECTORS=$(sed -n 's/.*vectors=\([0-9]*\).*/\1/p' <<<"$QEMU_ARGS")
export VGPU_VECTORS VM_MEM=${VM_MEM:-1G}
boot() {  # boot NAME TIMEOUT SCRIPT ARGS...
  local name=$1 t=$2 rc=0; shift 2
  VM_TIMEOUT=$t VM_LOG="$LOGDIR/$name.console" "$REPO/test/vm/boot.sh" "$BUNDLE/vm" \
    "$WORK/gpu-vm.sock" "$@" >/dev/null 2>"$LOGDIR/$name.boot" || rc=$?
  log "boot $name: guest script exit $rc ($(grep -c . "$LOGDIR/$name.console") console lines)"
}
# The selection reaches the guest script as kernel command line words (NAME=VALUE, no spaces).
only=("VGPU_GPU_SETS=$VGPU_GPU_SETS")
[[ -n "${VGPU_GPU_ONLY:-}" ]] && only+=("VGPU_GPU_ONLY=$VGPU_GPU_ONLY")
t0=$SECONDS
boot programs "${VM_TIMEOUT:-420}" gpu-programs "${only[@]}"
log "the programs' boot took $((SECONDS - t0)) s"

# Split the console into one stdout/stderr/rc per program.
awk -v dir="$WORK/vm" '
  /^VGPU-OUT-BEGIN / { name = $2; gsub("/", "_", name); out = dir "/" name ".out"; err = dir "/" name ".err";
                       printf "" > out; printf "" > err; next }
  /^VGPU-OUT\| / && name != "" { sub(/^VGPU-OUT\| /, ""); print >> out; next }
  /^VGPU-OUT\|$/ && name != "" { print "" >> out; next }
  /^VGPU-ERR\| ?/ && name != "" { sub(/^VGPU-ERR\| ?/, ""); print >> err; next }
  /^VGPU-OUT-END / { sub(/^rc=/, "", $3); print $3 > (dir "/" name ".rc"); name = "" }
' "$LOGDIR/programs.console"

PASSED=0 FAILED=0
REPORT=$LOGDIR/report.txt
printf '%-40s %-10s %-10s %s\n' program native "in the VM" match >"$REPORT"
for label in "${LABELS[@]}"; do
  key=${label//\//_}
  n=$WORK/native/$key v=$WORK/vm/$key
  nrc=$(cat "$n.rc") vrc=$(cat "$v.rc" 2>/dev/null || echo missing)
  [[ -f "$v.out" ]] || : >"$v.out"
  match=no
  if [[ "$label" == samples/* ]]; then
    filter_sample "$n.out" >"$n.cmp"; filter_sample "$v.out" >"$v.cmp"
  else
    cp "$n.out" "$n.cmp"; cp "$v.out" "$v.cmp"
  fi
  cmp -s "$n.cmp" "$v.cmp" && [[ "$nrc" == "$vrc" ]] && match=yes
  if [[ "$match" == yes && ( "$nrc" == 0 || "$label" == */kernel_fault ) ]]; then
    PASSED=$((PASSED + 1))
  else
    FAILED=$((FAILED + 1))
    { echo "== $label: native rc=$nrc, VM rc=$vrc"
      # No output at all: the guest image may predate this set (make-vm-bundle.sh again).
      [[ "$vrc" == missing ]] && echo "   not on the guest's console: is /opt/gpu/${label%/*} in vm/'s image?"
      diff -u "$n.cmp" "$v.cmp" | sed -n '3,30p'  || true
      tail -n 10 "$v.err" 2>/dev/null || true; } >>"$LOGDIR/differences.txt"
  fi
  printf '%-40s %-10s %-10s %s\n' "$label" "rc=$nrc" "rc=$vrc" "$match" >>"$REPORT"
done

# ---- 3. one cudaMalloc, hop by hop --------------------------------------------------------------
wait_idle() {  # until the tenant's last channel worker has exited (they drain in the background)
  for _ in $(seq 50); do
    [[ "$("${VGPUD[@]}" counters | awk '$1 == "gpu-vm" { print $2 }')" == 0 ]] && return; sleep 0.1
  done
}
wait_idle
"${VGPUD[@]}" counters >"$LOGDIR/counters-before-trace.txt"
trace_from=$(($(wc -l <"$LOGDIR/vgpud.log") + 1))  # guest pids repeat across boots
boot trace 120 trace
wait_idle
"${VGPUD[@]}" counters >"$LOGDIR/counters-after-trace.txt"
{
  echo "--- the guest's trace (shim, VGPU_LOG=debug)"
  grep -a '^\[vgpu\]' "$LOGDIR/trace.console" | head -n 20
  seq=$(grep -a 'cudaMalloc size=' "$LOGDIR/trace.console" | sed -n 's/.*seq=\([0-9]*\).*/\1/p' | head -n1)
  tail -n "+$trace_from" "$LOGDIR/vgpud.log" >"$WORK/trace-vgpud.log"
  pid=$(grep -a 'vm=gpu-vm/[0-9]* slot [0-9]* connected' "$WORK/trace-vgpud.log" | tail -n1 | sed -n 's/.*vm=gpu-vm\/\([0-9]*\).*/\1/p')
  echo "--- vgpud's lines for that process (gpu-vm/$pid), sequence number $seq"
  grep -a "gpu-vm/$pid" "$WORK/trace-vgpud.log" | grep -a -e "seq=$seq " -e 'connected' -e 'closed' | head -n 20
  echo "--- vgpud counters before and after the trace boot"
  cat "$LOGDIR/counters-before-trace.txt" "$LOGDIR/counters-after-trace.txt"
} >"$LOGDIR/trace.txt"

# ---- 4. vgpud at the end ------------------------------------------------------------------------
wait_idle
"${VGPUD[@]}" counters >"$LOGDIR/counters-end.txt"
bytes=$(awk 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next } $1 == "gpu-vm" { print $c["device_bytes"] }' "$LOGDIR/counters-end.txt")
end_check() {  # end_check DESCRIPTION COMMAND...
  local verdict=FAILED
  if "${@:2}"; then verdict=ok; PASSED=$((PASSED + 1)); else FAILED=$((FAILED + 1)); fi
  printf '%-40s %s\n' "$1" "$verdict" >>"$REPORT"
}
end_check "vgpud holds no device memory" test "$bytes" = 0
kill -TERM "$VGPUD_PID"; rc=0; wait "$VGPUD_PID" || rc=$?; VGPUD_PID=""
end_check "vgpud SIGTERM -> exit 0 (rc=$rc)" test "$rc" = 0

cat "$LOGDIR/trace.txt"
[[ -f "$LOGDIR/differences.txt" ]] && cat "$LOGDIR/differences.txt"
cat "$REPORT"
echo "$PASSED passed, $FAILED failed"
[[ "$FAILED" -eq 0 ]]
