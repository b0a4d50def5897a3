#!/bin/sh
# Default guest script: a sanity check of the guest image itself (no vgpud needed). Checks that
# the test programs' libraries resolve (the shims through ld.so.conf.d), that run-as switches
# users and groups, and lists any vgpu-stub device.
set -eu
echo "kernel: $(uname -r), cpus: $(nproc), mem: $(free -m | awk '/Mem:/ {print $2}') MiB"
for p in /usr/local/bin/*; do
  # The loader's --list is ldd; a missing library prints 'not found'.
  if /lib64/ld-linux-x86-64.so.2 --list "$p" | grep -q 'not found'; then
    echo "FAIL: unresolved libraries for $p:"; /lib64/ld-linux-x86-64.so.2 --list "$p"; exit 1
  fi
done
/lib64/ld-linux-x86-64.so.2 --list /usr/local/bin/memory_roundtrip | grep libcudart
/lib64/ld-linux-x86-64.so.2 --list /usr/local/bin/memory_roundtrip | grep -q '/usr/lib/vgpu/libcudart.so.13' \
  || { echo "FAIL: libcudart.so.13 does not resolve to the shim in /usr/lib/vgpu"; exit 1; }
# The driver shim as well: driver_api needs libcuda.so.1 (its RUNPATH names the build tree, which
# the guest does not have, so the cache decides), as NVIDIA's static runtime dlopens it.
if [ -x /usr/local/bin/driver_api ]; then
  /lib64/ld-linux-x86-64.so.2 --list /usr/local/bin/driver_api | grep -q '/usr/lib/vgpu/libcuda.so.1' \
    || { echo "FAIL: libcuda.so.1 does not resolve to the driver shim in /usr/lib/vgpu"; exit 1; }
fi
echo "programs: $(ls /usr/local/bin | tr '\n' ' ')"
echo "vgpuuser: $(run-as vgpuuser id)"
echo "otheruser: $(run-as otheruser id)"
run-as vgpuuser id -Gn | grep -qw vgpu || { echo "FAIL: vgpuuser is not in group vgpu"; exit 1; }
if run-as otheruser id -Gn | grep -qw vgpu; then echo "FAIL: otheruser is in group vgpu"; exit 1; fi
# run-as keeps arguments with spaces and quotes intact.
[ "$(run-as vgpuuser sh -c 'echo "$1"' - "a 'b' c")" = "a 'b' c" ] || { echo "FAIL: run-as quoting"; exit 1; }
stubs=0
for d in /sys/bus/pci/devices/*; do
  if [ "$(cat "$d/vendor"):$(cat "$d/device")" = 0x1af4:0x1110 ]; then
    echo "ivshmem device: $d"; stubs=$((stubs + 1))
  fi
done
echo "ivshmem devices: $stubs"
echo "guest image OK"
