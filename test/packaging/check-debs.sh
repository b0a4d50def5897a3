#!/usr/bin/env bash
# Installs vgpu-host and vgpu-guest (.deb) into a fresh Debian 12 root made with debootstrap and
# checks what an operator relies on: the configuration where the unit looks for it, marked as a
# conffile and kept across an upgrade; the unit enabled; stripped binaries whose debug info is
# in the -dbgsym packages; the guest shim found by the loader, and the system's own
# libcudart.so.13 found again once the guest package is removed; nothing left after purge.
#
#   test/packaging/check-debs.sh PACKAGE_DIR      (as root; needs debootstrap and the network
#                                                  to Debian's mirror; scripts/test.sh runs it)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/check_lib.sh"
pkgdir=$(cd "${1:?usage: check-debs.sh PACKAGE_DIR}" && pwd)
mirror=${VGPU_DEBIAN_MIRROR:-http://deb.debian.org/debian}
cuda=${CUDA_HOME:-/usr/local/cuda}

host_deb=$(ls "$pkgdir"/vgpu-host_*.deb)
guest_deb=$(ls "$pkgdir"/vgpu-guest_*.deb)
root=$(mktemp -d /tmp/vgpu-debroot.XXXXXX)
cleanup() {
  umount "$root/proc" 2>/dev/null || true
  rm -rf "$root"
}
trap cleanup EXIT

echo "--- debootstrap bookworm (minbase) into $root"
debootstrap --variant=minbase bookworm "$root" "$mirror" >"$root.log" 2>&1 ||
  { tail -n 20 "$root.log"; exit 1; }
rm -f "$root.log"
mount -t proc proc "$root/proc"
cp /etc/resolv.conf "$root/etc/resolv.conf"
in_root() { chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive "$@"; }
# No _apt user switch for downloads in a root without one set up for it.
echo 'APT::Sandbox::User "root";' >"$root/etc/apt/apt.conf.d/99vgpu-test"

# The system's own CUDA runtime, where NVIDIA's packages put it, and a program built
# `-cudart shared` that reports which libcudart it got.
real=$(readlink -f "$cuda/lib64/libcudart.so.13")
mkdir -p "$root/usr/local/cuda-13.0/lib"
cp "$real" "$root/usr/local/cuda-13.0/lib/"
echo /usr/local/cuda-13.0/lib >"$root/etc/ld.so.conf.d/zz-cuda-13-0.conf"
in_root ldconfig
gcc -O2 -o "$root/usr/local/bin/cudart_probe" "$here/cudart_probe.c" -I"$cuda/include" \
  -L"$cuda/lib64" -lcudart
probe() { in_root /usr/local/bin/cudart_probe 2>&1; }
echo "before install: $(probe)"
check "before install, a -cudart shared program gets the system's runtime" \
  bash -c "[[ \"\$(chroot '$root' /usr/local/bin/cudart_probe)\" == /usr/local/cuda-13.0/* ]]"

echo "--- apt-get install vgpu-host vgpu-guest"
cp "$host_deb" "$guest_deb" "$root/tmp/"
in_root apt-get update -qq
in_root apt-get install -y -qq "/tmp/$(basename "$host_deb")" "/tmp/$(basename "$guest_deb")" \
  >"$root/tmp/install.log" 2>&1 || { tail -n 30 "$root/tmp/install.log"; exit 1; }
files=$(in_root dpkg -L vgpu-host vgpu-guest | sort -u)

check "vgpud --config /etc/vgpu/vgpu.yaml --check-config passes" \
  in_root vgpud --config /etc/vgpu/vgpu.yaml --check-config
check "dpkg -s vgpu-host lists /etc/vgpu/vgpu.yaml as a conffile" \
  bash -c "chroot '$root' dpkg-query -W -f='\${Conffiles}\n' vgpu-host | grep -q '^ /etc/vgpu/vgpu.yaml [0-9a-f]\{32\}$'"
check "dpkg -s vgpu-guest lists /etc/ld.so.conf.d/vgpu-guest.conf as a conffile" \
  bash -c "chroot '$root' dpkg-query -W -f='\${Conffiles}\n' vgpu-guest | grep -q '^ /etc/ld.so.conf.d/vgpu-guest.conf [0-9a-f]\{32\}$'"
check "every conffile is a file of its package" \
  bash -c "for p in vgpu-host vgpu-guest; do chroot '$root' dpkg-query -W -f='\${Conffiles}\n' \$p | awk 'NF{print \$1}' | while read -r f; do chroot '$root' dpkg -L \$p | grep -qx \"\$f\" || exit 1; done; done"
check "vgpud.service is enabled (multi-user.target wants it)" \
  test -L "$root/etc/systemd/system/multi-user.target.wants/vgpud.service"
check "group vgpu exists" in_root getent group vgpu
check "vgpu-guest depends on the C and C++ runtimes" \
  bash -c "chroot '$root' dpkg-query -W -f='\${Depends}\n' vgpu-guest | grep -q libstdc++6"
check "ldconfig -p resolves libcudart.so.13 to vgpu-guest's shim first" \
  bash -c "chroot '$root' ldconfig -p | grep -m1 'libcudart.so.13 ' | grep -q '/usr/lib/vgpu/libcudart.so.13'"
check "ldconfig -p resolves libnvidia-ml.so.1 to vgpu-guest's NVML shim" \
  bash -c "chroot '$root' ldconfig -p | grep -m1 'libnvidia-ml.so.1 ' | grep -q '/usr/lib/vgpu/libnvidia-ml.so.1'"
check "vgpu-smi is installed and answers --help" in_root /usr/bin/vgpu-smi --help
echo "installed: $(probe)"
check "with vgpu-guest installed, a -cudart shared program gets the shim" \
  bash -c "[[ \"\$(chroot '$root' /usr/local/bin/cudart_probe)\" == /usr/lib/vgpu/* ]]"
for bin in /usr/sbin/vgpud /usr/lib/vgpu/libcudart.so.13 /usr/lib/vgpu/libnvidia-ml.so.1 /usr/bin/vgpu-smi; do
  check "$bin is stripped (no .debug_info)" \
    bash -c "readelf -S '$root$bin' | grep -q ' .dynsym' && ! readelf -S '$root$bin' | grep -q ' .debug_info'"
done
build_id=$(readelf -n "$root/usr/sbin/vgpud" | awk '/Build ID/ {print $3}')
check "vgpu-host-dbgsym carries vgpud's debug info (build id $build_id)" \
  bash -c "dpkg-deb -c '$pkgdir'/vgpu-host-dbgsym_*.ddeb | grep -q '/usr/lib/debug/.build-id/${build_id:0:2}/${build_id:2}.debug'"
check "vgpu-guest-dbgsym exists" bash -c "ls '$pkgdir'/vgpu-guest-dbgsym_*.ddeb"

echo "--- upgrade over a locally edited configuration"
[ -f "$root/etc/vgpu/vgpu.yaml" ] && echo "# edited by the operator" >>"$root/etc/vgpu/vgpu.yaml"
in_root dpkg -i "/tmp/$(basename "$host_deb")" >/dev/null 2>&1 </dev/null
check "reinstalling keeps the operator's /etc/vgpu/vgpu.yaml" \
  grep -q "edited by the operator" "$root/etc/vgpu/vgpu.yaml"

echo "--- apt-get remove"
in_root apt-get remove -y -qq vgpu-host vgpu-guest >/dev/null 2>&1
echo "removed: $(probe)"
check "after remove, the system's libcudart.so.13 resolves again" \
  bash -c "[[ \"\$(chroot '$root' /usr/local/bin/cudart_probe)\" == /usr/local/cuda-13.0/* ]]"
check "after remove, the configuration stays until purge" test -f "$root/etc/vgpu/vgpu.yaml"
check "after remove, the unit is no longer enabled" \
  test ! -e "$root/etc/systemd/system/multi-user.target.wants/vgpud.service"

echo "--- apt-get purge"
in_root apt-get purge -y -qq vgpu-host vgpu-guest >/dev/null 2>&1
left=""
for f in $files; do
  case "$f" in /. | /etc | /usr | /usr/bin | /usr/sbin | /usr/lib | /usr/share | /usr/share/doc | /lib | \
      /etc/ld.so.conf.d | /usr/lib/systemd | /usr/lib/systemd/system | /usr/lib/udev | \
      /usr/lib/udev/rules.d) continue ;; esac
  [ -e "$root$f" ] || [ -L "$root$f" ] && left="$left $f"
done
[ -z "$left" ] || echo "left behind:$left"
check "after purge, no file of either package remains" test -z "$left"
check "after purge, dpkg has no record of either package" \
  bash -c "! chroot '$root' dpkg -l vgpu-host vgpu-guest 2>/dev/null | grep -q '^[a-z][a-z]'"
check "after purge, no trace of vgpud.service in /etc/systemd or systemd's helper state" \
  bash -c "! find '$root/etc/systemd' '$root/var/lib/systemd' -name '*vgpud*' 2>/dev/null | grep -q ."
check "after purge, the system's libcudart.so.13 resolves" \
  bash -c "[[ \"\$(chroot '$root' /usr/local/bin/cudart_probe)\" == /usr/local/cuda-13.0/* ]]"
summary "deb package checks"
