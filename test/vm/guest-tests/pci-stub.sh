#!/bin/sh
# Shows the vgpu-stub (ivshmem-doorbell, PCI 1af4:1110) as the guest sees it and checks the
# basics the shim relies on, with no vgpud needed (any ivshmem server will do):
#   - the device is there with BAR0 (registers, 256 bytes) and BAR2 (the shared region);
#   - resource2 can be mmapped and shows what the server wrote (VGPU_EXPECT_MARKER, if given:
#     the bytes the region starts with);
#   - group vgpu may map it (vgpuuser), others may not (otheruser);
#   - guest writes reach the server: "hello from the guest" at region offset 4096, and a ring
#     of vector VGPU_RING_VECTOR (default 1) of peer VGPU_RING_PEER (default 0) on the doorbell.
# Kernel command line arguments become environment variables here: boot.sh ... pci-stub
# VGPU_EXPECT_MARKER=VGPV.
set -eu
echo "PCI devices (vendor:device class):"
for d in /sys/bus/pci/devices/*; do
  echo "  ${d##*/} $(cat "$d/vendor"):$(cat "$d/device") $(cat "$d/class")"
done

stub=""
for d in /sys/bus/pci/devices/*; do
  if [ "$(cat "$d/vendor"):$(cat "$d/device")" = 0x1af4:0x1110 ]; then stub=$d; break; fi
done
[ -n "$stub" ] || { echo "FAIL: no ivshmem device 1af4:1110"; exit 1; }
echo "stub: $stub"
ls -l "$stub"/resource*
# The resource file has one line per BAR: start end flags.
i=0
while read -r start end flags; do
  if [ "$((start))" -ne 0 ]; then
    echo "  BAR$i: start $start size $((end - start + 1)) bytes (flags $flags)"
  fi
  i=$((i + 1))
  [ $i -lt 6 ] || break
done < "$stub/resource"
echo "resource0 size: $(vgpu-mmap size "$stub/resource0"), resource2 size: $(vgpu-mmap size "$stub/resource2")"

# dd cannot read a memory BAR (sysfs allows only mmap on it); show that, then mmap it.
echo "dd of resource2 (expected to fail, memory BARs are mmap-only):"
dd if="$stub/resource2" bs=16 count=1 2>&1 | hexdump -C || true
echo "first 32 bytes of resource2 through mmap:"
vgpu-mmap read "$stub/resource2" 0 32 | hexdump -C
if [ -n "${VGPU_EXPECT_MARKER:-}" ]; then
  n=$(printf '%s' "$VGPU_EXPECT_MARKER" | wc -c)
  got=$(vgpu-mmap read "$stub/resource2" 0 "$n")
  [ "$got" = "$VGPU_EXPECT_MARKER" ] || { echo "FAIL: region starts with '$got', not '$VGPU_EXPECT_MARKER'"; exit 1; }
  echo "region marker OK: $got"
fi
echo "IVPosition (BAR0 offset 8, this VM's peer id):"
vgpu-mmap read "$stub/resource0" 8 4 | hexdump -C

# Access by group, as the udev rule grants it (guest-init.sh applies it here).
run-as vgpuuser vgpu-mmap read "$stub/resource2" 0 4 >/dev/null || { echo "FAIL: vgpuuser cannot map resource2"; exit 1; }
if run-as otheruser vgpu-mmap read "$stub/resource2" 0 4 >/dev/null 2>&1; then
  echo "FAIL: otheruser (not in group vgpu) could map resource2"; exit 1
fi
echo "permissions OK: vgpuuser maps resource2, otheruser is refused"

# Guest -> host: a string in the region and a doorbell ring.
run-as vgpuuser vgpu-mmap write "$stub/resource2" 4096 "hello from the guest"
[ "$(vgpu-mmap read "$stub/resource2" 4096 20)" = "hello from the guest" ] || { echo "FAIL: region write did not stick"; exit 1; }
peer=${VGPU_RING_PEER:-0}
vector=${VGPU_RING_VECTOR:-1}
run-as vgpuuser vgpu-mmap write32 "$stub/resource0" 12 $(( (peer << 16) | vector ))
echo "wrote 'hello from the guest' at region offset 4096 and rang peer $peer vector $vector"
echo "pci-stub OK"
