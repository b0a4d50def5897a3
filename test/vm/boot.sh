#!/usr/bin/env bash
# Boots the vgpu test guest (built by build-guest.sh) in QEMU with a vgpu-stub, runs one guest
# test script in it, streams the serial console to stdout, and exits with the script's exit code.
#
# Usage: test/vm/boot.sh IMAGE_DIR STUB_SOCKET SCRIPT [EXTRA_KERNEL_ARGS...]
#   IMAGE_DIR    holds vmlinuz and initramfs.cpio.gz or initramfs.cpio.xz (build-guest.sh's
#                OUT_DIR; VGPU_VM_COMPRESS chose which)
#   STUB_SOCKET  the ivshmem server socket of the VM's stub (vgpud's VM socket; `vgpud qemu-args`
#                prints it), or "none" to boot without a stub device
#   SCRIPT       a guest test script: NAME, NAME.sh (both meaning /tests/NAME.sh, from
#                test/vm/guest-tests/) or an absolute path inside the guest
#   EXTRA_KERNEL_ARGS  appended to the kernel command line; NAME=VALUE words without a dot
#                reach the script as environment variables (e.g. VGPU_LOG=debug)
#
# Exit status: the guest script's, from the console's `VGPU-VM-RESULT rc=N` line; 124 if the VM
# ran past VM_TIMEOUT; 1 if QEMU ended without a result line (failed to start, guest crashed).
#
# Environment:
#   QEMU            QEMU binary (default: qemu-system-x86_64 on PATH)
#   QEMU_DATA_DIR   passed as -L (firmware: bios-256k.bin, linuxboot_dma.bin) for a QEMU that is
#                   not installed in its configured prefix; QEMU_MODULE_DIR is read by QEMU itself
#   VM_TIMEOUT      seconds before the VM is killed (default 120)
#   VM_MEM          guest memory (default 512M)     VM_SMP  guest CPUs (default 2)
#   VM_ACCEL        QEMU accelerator (default tcg)  VM_CPU  CPU model (default max)
#   VGPU_VECTORS    the stub's interrupt vectors (default 9; must match vgpud's)
#   VM_LOG          also keep the console output in this file
#   VM_QEMU_ARGS    extra QEMU arguments (split on spaces)
set -euo pipefail

die() { echo "boot.sh: $*" >&2; exit 1; }

[ $# -ge 3 ] || die "usage: $0 IMAGE_DIR STUB_SOCKET SCRIPT [EXTRA_KERNEL_ARGS...]"
IMAGE_DIR=$1
STUB_SOCKET=$2
SCRIPT=$3
shift 3

QEMU=${QEMU:-qemu-system-x86_64}
VM_TIMEOUT=${VM_TIMEOUT:-120}
VM_MEM=${VM_MEM:-512M}
VM_SMP=${VM_SMP:-2}
VM_ACCEL=${VM_ACCEL:-tcg}
VM_CPU=${VM_CPU:-max}
VGPU_VECTORS=${VGPU_VECTORS:-9}

command -v "$QEMU" >/dev/null || die "QEMU '$QEMU' not found: install qemu-system-x86 or set QEMU=/path/to/qemu-system-x86_64"
[ -f "$IMAGE_DIR/vmlinuz" ] || die "$IMAGE_DIR/vmlinuz not found: run test/vm/build-guest.sh BUILD_DIR $IMAGE_DIR"
# build-guest.sh leaves one of the two (the kernel tells them apart by their magic); should both
# be there, the newer one is what build-guest.sh made last.
INITRD=""
for f in "$IMAGE_DIR/initramfs.cpio.gz" "$IMAGE_DIR/initramfs.cpio.xz"; do
  if [ -f "$f" ] && { [ -z "$INITRD" ] || [ "$f" -nt "$INITRD" ]; }; then INITRD=$f; fi
done
[ -n "$INITRD" ] || die "$IMAGE_DIR/initramfs.cpio.gz (or .xz) not found: run test/vm/build-guest.sh BUILD_DIR $IMAGE_DIR"
[[ "$VM_TIMEOUT" =~ ^[0-9]+$ ]] || die "VM_TIMEOUT must be a number of seconds, not '$VM_TIMEOUT'"

# The script's path inside the guest.
case "$SCRIPT" in
  /*) ;;
  *.sh) SCRIPT=/tests/$SCRIPT ;;
  *) SCRIPT=/tests/$SCRIPT.sh ;;
esac
[[ "$SCRIPT" =~ ^[A-Za-z0-9_./-]+$ ]] || die "script path '$SCRIPT' has characters the kernel command line cannot carry"

# quiet: only warnings and worse from the kernel, so the console is mostly the script's output.
# panic=-1 with -no-reboot: a guest panic ends QEMU at once instead of waiting for the timeout.
APPEND="console=ttyS0 quiet panic=-1 vgpu.script=$SCRIPT"
[ $# -gt 0 ] && APPEND="$APPEND $*"

# shellcheck disable=SC2054  # the commas are QEMU's option syntax
ARGS=(
  -accel "$VM_ACCEL" -cpu "$VM_CPU" -m "$VM_MEM" -smp "$VM_SMP"
  # No default devices (VGA, NIC, floppy, CD-ROM), no network, no monitor: the serial port is
  # the only way in or out, and it goes to stdout.
  -nodefaults -no-user-config -display none -nic none -monitor none
  -chardev stdio,id=console,signal=off -serial chardev:console
  -no-reboot
  -kernel "$IMAGE_DIR/vmlinuz" -initrd "$INITRD" -append "$APPEND"
)
[ -n "${QEMU_DATA_DIR:-}" ] && ARGS=(-L "$QEMU_DATA_DIR" "${ARGS[@]}")
if [ "$STUB_SOCKET" != none ]; then
  # QEMU connects to the ivshmem server while creating the device and fails to start if nobody
  # listens; check first for a clearer message.
  [ -S "$STUB_SOCKET" ] || die "stub socket $STUB_SOCKET does not exist (is vgpud / the ivshmem server running?)"
  ARGS+=(-chardev "socket,path=$STUB_SOCKET,id=vgpu0"
         -device "ivshmem-doorbell,chardev=vgpu0,vectors=$VGPU_VECTORS")
fi
# shellcheck disable=SC2206  # VM_QEMU_ARGS is split on purpose
[ -n "${VM_QEMU_ARGS:-}" ] && ARGS+=(${VM_QEMU_ARGS})

LOG=${VM_LOG:-}
TMPLOG=""
if [ -z "$LOG" ]; then
  TMPLOG=$(mktemp "${TMPDIR:-/tmp}/vgpu-vm-console.XXXXXX")
  LOG=$TMPLOG
fi
trap '[ -n "$TMPLOG" ] && rm -f "$TMPLOG"' EXIT

echo "boot.sh: $QEMU ${ARGS[*]}" >&2
# stdin is /dev/null: the guest needs no input, and QEMU must not put a terminal into raw
# mode. The console has CRLF line ends; sed -u drops the CR and passes each line on at once.
set +e
timeout --kill-after=10 "$VM_TIMEOUT" "$QEMU" "${ARGS[@]}" </dev/null 2>&1 | sed -u 's/\r$//' | tee "$LOG"
STATUS=("${PIPESTATUS[@]}")
set -e
QEMU_RC=${STATUS[0]}

if [ "$QEMU_RC" -eq 124 ] || [ "$QEMU_RC" -eq 137 ]; then
  echo "boot.sh: the VM ran past VM_TIMEOUT=${VM_TIMEOUT}s and was killed" >&2
  exit 124
fi
# The last result line wins (a script could print the marker itself; init prints it last).
RESULT=$(grep -a -o 'VGPU-VM-RESULT rc=[0-9]*' "$LOG" | tail -n1 || true)
if [ -z "$RESULT" ]; then
  echo "boot.sh: QEMU exited (status $QEMU_RC) without a VGPU-VM-RESULT line: the guest did not finish its script" >&2
  exit 1
fi
RC=${RESULT#VGPU-VM-RESULT rc=}
echo "boot.sh: guest script $SCRIPT exited with $RC" >&2
exit "$RC"
