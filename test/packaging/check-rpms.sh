#!/usr/bin/env bash
# Checks vgpu-host and vgpu-guest (.rpm) without installing them (this is a Debian machine):
# their files, configuration files, dependencies, scriptlets and debuginfo packages, with
# rpm -qpl, -qpc, -qpR and --scripts.
#
#   test/packaging/check-rpms.sh PACKAGE_DIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/check_lib.sh"
pkgdir=$(cd "${1:?usage: check-rpms.sh PACKAGE_DIR}" && pwd)

host=$(ls "$pkgdir"/vgpu-host-[0-9]*.rpm 2>/dev/null || true)
guest=$(ls "$pkgdir"/vgpu-guest-[0-9]*.rpm 2>/dev/null || true)
check "a vgpu-host .rpm was built" test -n "$host"
check "a vgpu-guest .rpm was built" test -n "$guest"
if [ -z "$host" ] || [ -z "$guest" ]; then summary "rpm package checks"; exit 1; fi
q() { rpm -qp "$@" 2>/dev/null; }

check "vgpu-host ships /usr/sbin/vgpud, /etc/vgpu/vgpu.yaml and the unit" \
  bash -c "l=\$(rpm -qpl '$host'); grep -qx /usr/sbin/vgpud <<<\"\$l\" && grep -qx /etc/vgpu/vgpu.yaml <<<\"\$l\" && grep -qx /usr/lib/systemd/system/vgpud.service <<<\"\$l\""
check "vgpu-host ships nothing under /usr/etc" bash -c "! rpm -qpl '$host' | grep -q '^/usr/etc'"
check "rpm -qpc vgpu-host lists /etc/vgpu/vgpu.yaml" bash -c "rpm -qpc '$host' | grep -qx /etc/vgpu/vgpu.yaml"
check "/etc/vgpu/vgpu.yaml is %config(noreplace)" \
  bash -c "rpm -qp --qf '[%{FILENAMES} %{FILEFLAGS:fflags}\n]' '$host' | grep -qx '/etc/vgpu/vgpu.yaml cn'"
check "vgpu-host owns /etc/vgpu" bash -c "rpm -qpl '$host' | grep -qx /etc/vgpu"
check "vgpu-host requires the libraries vgpud links" \
  bash -c "r=\$(rpm -qpR '$host'); grep -q 'libyaml-cpp.so' <<<\"\$r\" && grep -q 'libboost_program_options.so' <<<\"\$r\" && grep -q 'libsystemd.so' <<<\"\$r\""
check "vgpu-host's scriptlets create group vgpu and preset, disable and reload the unit" \
  bash -c "s=\$(rpm -qp --scripts '$host'); grep -q 'groupadd -r vgpu' <<<\"\$s\" && grep -q 'preset vgpud.service' <<<\"\$s\" && grep -q 'disable --now vgpud.service' <<<\"\$s\" && grep -q 'daemon-reload' <<<\"\$s\""
check "rpm -qpc vgpu-guest lists /etc/ld.so.conf.d/vgpu-guest.conf" \
  bash -c "rpm -qpc '$guest' | grep -qx /etc/ld.so.conf.d/vgpu-guest.conf"
check "vgpu-guest ships the shim under the runtime's soname" \
  bash -c "rpm -qpl '$guest' | grep -qx /usr/lib/vgpu/libcudart.so.13"
check "vgpu-guest ships the NVML shim under NVML's soname, and vgpu-smi" \
  bash -c "l=\$(rpm -qpl '$guest'); grep -qx /usr/lib/vgpu/libnvidia-ml.so.1 <<<\"\$l\" && grep -qx /usr/bin/vgpu-smi <<<\"\$l\""
check "vgpu-guest requires the C and C++ runtimes" \
  bash -c "r=\$(rpm -qpR '$guest'); grep -q 'libc.so.6' <<<\"\$r\" && grep -q 'libstdc++.so.6' <<<\"\$r\""
check "vgpu-guest runs ldconfig on install and on removal" \
  bash -c "rpm -qp --scripts '$guest' | awk '/^postinstall/{p=1} /^postuninstall/{u=1} /ldconfig/{if(u)b=1; else if(p)a=1} END{exit !(a&&b)}'"

extract=$(mktemp -d)
trap 'rm -rf "$extract"' EXIT
(cd "$extract" && rpm2cpio "$host" | cpio -idm --quiet ./usr/sbin/vgpud)
check "vgpud in the .rpm is stripped" \
  bash -c "readelf -S '$extract/usr/sbin/vgpud' | grep -q ' .dynsym' && ! readelf -S '$extract/usr/sbin/vgpud' | grep -q ' .debug_info'"
debuginfo=$(ls "$pkgdir"/vgpu-host-debuginfo-*.rpm 2>/dev/null || true)
check "vgpu-host-debuginfo carries vgpud's debug info" \
  bash -c "[ -n '$debuginfo' ] && rpm -qpl '$debuginfo' | grep -q '^/usr/lib/debug/.*vgpud.*\.debug$'"
check "vgpu-guest-debuginfo exists" bash -c "ls '$pkgdir'/vgpu-guest-debuginfo-*.rpm"
summary "rpm package checks"
