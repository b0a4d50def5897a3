#!/bin/sh
# /init of the vgpu test guest (copied into the initramfs by build-guest.sh). It sets up a
# minimal system, runs one guest test script, prints `VGPU-VM-RESULT rc=<n>` (what boot.sh
# parses) and powers the VM off.
#
# Kernel command line:
#   vgpu.script=/tests/NAME.sh   the script to run (default /tests/default.sh)
#   NAME=VALUE (no dot)          the kernel hands these to /init as environment variables, so
#                                they reach the script: e.g. VGPU_LOG=debug
#
# No `set -e`: this is PID 1, and if it exits the kernel panics instead of reporting a result.
# Every step that can fail is checked by hand.
set -u
export PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin
export HOME=/root

mount -t devtmpfs devtmpfs /dev 2>/dev/null
# The initramfs has no /dev/console node (it is built without root, so no mknod), so the
# kernel started us without a console: take it now that devtmpfs provides one.
exec 0</dev/console 1>/dev/console 2>&1

fail=0
mount -t proc proc /proc || fail=1
mount -t sysfs sysfs /sys || fail=1
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts || fail=1
mount -t tmpfs -o mode=1777 tmpfs /dev/shm || fail=1
mount -t tmpfs -o mode=1777 tmpfs /tmp || fail=1
mount -t tmpfs -o mode=755 tmpfs /run || fail=1
hostname -F /etc/hostname 2>/dev/null
ip link set lo up 2>/dev/null

# Homes for the test users (the archive is all root-owned).
for u in vgpuuser:1000 otheruser:1001; do
  mkdir -p "/home/${u%%:*}" && chown "${u#*:}:${u#*:}" "/home/${u%%:*}" && chmod 700 "/home/${u%%:*}"
done

# What the guest package's udev rule does on a real guest: group vgpu may read and write the
# stub's registers (resource0) and region (resource2) of every ivshmem device (1af4:1110).
for d in /sys/bus/pci/devices/*; do
  if [ "$(cat "$d/vendor" 2>/dev/null):$(cat "$d/device" 2>/dev/null)" != 0x1af4:0x1110 ]; then continue; fi
  for r in resource0 resource2; do
    [ -e "$d/$r" ] && chgrp vgpu "$d/$r" && chmod 660 "$d/$r"
  done
done

script=/tests/default.sh
# shellcheck disable=SC2013  # the command line is split into words on purpose
for arg in $(cat /proc/cmdline); do
  case "$arg" in
    vgpu.script=*) script=${arg#vgpu.script=} ;;
  esac
done

if [ "$fail" -ne 0 ]; then
  echo "guest-init: setting up the guest's filesystems failed" >&2
  rc=125
elif [ ! -f "$script" ]; then
  echo "guest-init: no such test script: $script (have: $(ls /tests | tr '\n' ' '))" >&2
  rc=127
else
  echo "guest-init: running $script (guest up $(cut -d" " -f1 /proc/uptime) s)"
  cd /tmp || true
  sh "$script"
  rc=$?
  cd / || true
fi

# A leading newline: the script's last line might not end with one.
printf '\nVGPU-VM-RESULT rc=%d\n' "$rc"
sync
poweroff -f
# poweroff -f does not return; if it somehow did, sleep rather than exit (which would panic).
while :; do sleep 3600; done
