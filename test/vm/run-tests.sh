#!/usr/bin/env bash
# The VM path end to end: vgpud serving two VMs' stubs, guests booted in QEMU (TCG) running
# CUDA programs through the shim's PCI transport. Checked here, on the host side, after the
# guests' own checks (guest-tests/*.sh):
#   channels  (VM a) BAR2 round trips, concurrent processes, group vgpu, killed processes
#             reclaimed by lease (the vgpud log names four lease expiries);
#   scribble + serve  VM a's root scribbles over its region and rings every doorbell while
#             VM b runs memory_roundtrip again and again: b never fails, a gets errors and
#             vgpud counts them as rejections;
#   reboot    VM a boots again: a fresh region, served as before;
# and at the end nothing is left: no channel open, no device memory held, vgpud exits 0 on
# SIGTERM.
#
# Usage: test/vm/run-tests.sh BUILD_DIR
#   BUILD_DIR  a build with -DVGPU_BUILD_TESTS=ON (vgpud, the shim, the guest programs, the
#              fake driver)
# Environment:
#   VGPU_VM_IMAGE  a guest image made by build-guest.sh (default: built into the work dir)
#   VGPU_DRIVER    the libcuda vgpud loads (default: BUILD_DIR's test/fake-cuda)
#   VGPU_VM_WORK   work directory, kept afterwards (default: a temporary one, removed on success)
# plus boot.sh's (QEMU, QEMU_DATA_DIR, VM_TIMEOUT, ...).
set -euo pipefail

die() { echo "run-tests.sh: $*" >&2; exit 1; }
[ $# -eq 1 ] || die "usage: $0 BUILD_DIR"
BUILD_DIR=$(realpath "$1")
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
VGPUD=$BUILD_DIR/vgpud/vgpud
DRIVER=${VGPU_DRIVER:-$BUILD_DIR/test/fake-cuda/libcuda.so}
[ -x "$VGPUD" ] || die "$VGPUD not found: build the project first"
[ -e "$DRIVER" ] || die "driver $DRIVER not found"

WORK=${VGPU_VM_WORK:-$(mktemp -d "${TMPDIR:-/tmp}/vgpu-vm-test.XXXXXX")}
mkdir -p "$WORK"
WORK=$(realpath "$WORK")
VGPUD_PID=""
cleanup() {
  [ -n "$VGPUD_PID" ] && kill "$VGPUD_PID" 2>/dev/null && wait "$VGPUD_PID" 2>/dev/null
  true
}
trap cleanup EXIT
failures=0
check() {  # check DESCRIPTION COMMAND...: runs COMMAND, reports, counts a failure
  local what=$1; shift
  if "$@"; then echo "PASS  $what"; else echo "FAIL  $what"; failures=$((failures + 1)); fi
}
started=$(date +%s)

IMAGE=${VGPU_VM_IMAGE:-$WORK/image}
[ -n "${VGPU_VM_IMAGE:-}" ] || "$HERE/build-guest.sh" "$BUILD_DIR" "$IMAGE"

# Two VMs of four slots; a lease of 2 s, so a killed process's slot comes back quickly.
cat > "$WORK/vgpu.yaml" <<EOF
vgpud:
  log_level: debug
  driver: $DRIVER
  control_socket: $WORK/control.sock
tenants:
EOF
for vm in a b; do
  cat >> "$WORK/vgpu.yaml" <<EOF
  - name: vm-$vm
    gpus: [0]
    limits:
      pinned_memory: 8MiB
      staging_memory: 1MiB
    vm:
      socket: $WORK/vm-$vm.sock
      region_size: 64MiB
      slots: 4
      lease_timeout_ms: 2000
EOF
done

FAKE_CUDA_STATE_FILE="$WORK/fake-cuda.state.%p" "$VGPUD" --config "$WORK/vgpu.yaml" > "$WORK/vgpud.log" 2>&1 &
VGPUD_PID=$!
for _ in $(seq 100); do
  [ -S "$WORK/vm-a.sock" ] && [ -S "$WORK/vm-b.sock" ] && [ -S "$WORK/control.sock" ] && break
  kill -0 "$VGPUD_PID" 2>/dev/null || { cat "$WORK/vgpud.log"; die "vgpud exited at start"; }
  sleep 0.1
done
[ -S "$WORK/vm-a.sock" ] || { cat "$WORK/vgpud.log"; die "vgpud did not open its VM sockets"; }

# The stub's vector count comes from vgpud, as an administrator would take it.
QEMU_ARGS=$("$VGPUD" --config "$WORK/vgpu.yaml" qemu-args vm-a)
echo "vgpud qemu-args vm-a: $QEMU_ARGS"
export VGPU_VECTORS
VGPU_VECTORS=$(sed -n 's/.*vectors=\([0-9]*\).*/\1/p' <<<"$QEMU_ARGS")
[ -n "$VGPU_VECTORS" ] || die "no vectors= in vgpud qemu-args"

counters() { "$VGPUD" --config "$WORK/vgpu.yaml" counters; }
# counter TENANT COLUMN: one value of the counters table.
counter() {
  counters | awk -v t="$1" -v c="$2" 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
                                        $1 == t { print $col[c] }'
}
boot() {  # boot NAME VM SCRIPT ARGS...: console in $WORK/NAME.console
  local name=$1 vm=$2; shift 2
  VM_LOG="$WORK/$name.console" "$HERE/boot.sh" "$IMAGE" "$WORK/vm-$vm.sock" "$@" > /dev/null 2> "$WORK/$name.boot"
}
show_console() { echo "--- $1 (console)"; sed 's/^/    /' "$WORK/$1.console"; }

echo "=== channels (VM a)"
check "channels: round trips, concurrency, group vgpu, killed processes reclaimed" \
  boot channels a channels VGPU_SLOTS=4 VGPU_LEASE_S=3
show_console channels
lease_expiries=$(grep -c 'vm=vm-a.*its lease expired' "$WORK/vgpud.log" || true)
check "vgpud reclaimed the four killed processes by lease (saw $lease_expiries)" test "$lease_expiries" -eq 4
closed_by_exit=$(grep -c 'vm=vm-a.*the process closed its channel' "$WORK/vgpud.log" || true)
check "processes that exited handed their slots back at once (saw $closed_by_exit)" test "$closed_by_exit" -ge 8
check "no rejection for well-behaved processes" test "$(counter vm-a rejected)" -eq 0

echo "=== scribble (VM a) while serving (VM b)"
boot scribble a scribble VGPU_SCRIBBLE_S=8 & scribble_pid=$!
boot serve b serve VGPU_SERVE_S=15 & serve_pid=$!
check "VM a's hostile program got errors" wait "$scribble_pid"
check "VM b was served all along" wait "$serve_pid"
show_console scribble
show_console serve
check "vgpud is still running" kill -0 "$VGPUD_PID"
check "VM a's scribbling was counted as rejections ($(counter vm-a rejected))" test "$(counter vm-a rejected)" -gt 0
check "VM b saw no rejection" test "$(counter vm-b rejected)" -eq 0
check "VM b's calls were answered ($(counter vm-b answered))" test "$(counter vm-b answered)" -gt 0

echo "=== reboot (VM a)"
check "VM a, booted again, gets a fresh region and is served" \
  boot reboot a run VGPU_PROG=memory_roundtrip
show_console reboot

echo "=== after all VMs"
# Workers drain in the background: give the last ones a moment to exit.
for _ in $(seq 50); do
  [ "$(counter vm-a processes)" = 0 ] && [ "$(counter vm-b processes)" = 0 ] && break
  sleep 0.1
done
counters | tee "$WORK/counters.txt"
for vm in vm-a vm-b; do
  check "$vm: no channel worker left" test "$(counter $vm processes)" -eq 0
  check "$vm: every channel opened was closed" test "$(counter $vm opened)" -eq "$(counter $vm closed)"
  check "$vm: no device memory held" test "$(counter $vm device_bytes)" -eq 0
done
kill -TERM "$VGPUD_PID"
rc=0
wait "$VGPUD_PID" || rc=$?
VGPUD_PID=""
check "vgpud exits 0 on SIGTERM" test "$rc" -eq 0

echo "VM tests: $failures failure(s) in $(( $(date +%s) - started )) s (work dir $WORK)"
if [ "$failures" -ne 0 ]; then
  echo "--- vgpud log (last 60 lines)"; tail -n 60 "$WORK/vgpud.log"
  exit 1
fi
[ -n "${VGPU_VM_WORK:-}" ] || rm -rf "$WORK"
