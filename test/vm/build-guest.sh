#!/usr/bin/env bash
# Builds the guest image for the VM harness: OUT_DIR/vmlinuz (Debian's stock amd64 kernel) and
# OUT_DIR/initramfs.cpio.gz or .xz (busybox, vgpu's guest libraries, the guest test programs,
# the shared libraries they need, and test/vm/guest-tests/*.sh). The guest runs entirely from
# the initramfs: no disk image, no network, so it builds in seconds and boots in a few seconds
# under TCG.
#
# vgpu's guest libraries go where the guest package puts them, /usr/lib/vgpu, found through
# ld.so.conf.d and the image's ld.so.cache: the runtime shim (libcudart.so.13), the driver shim
# (libcuda.so.1) and the client both load (libvgpu-client.so.1). The image has no NVIDIA driver
# or runtime: the build stops if any libcuda*, libcudart* or libnvidia-* lands elsewhere, or if
# the cache does not name vgpu's libcuda.so.1.
#
# Usage: test/vm/build-guest.sh BUILD_DIR OUT_DIR
#   BUILD_DIR  a cmake build of this repository with -DVGPU_BUILD_TESTS=ON (needs
#              guest/lib/libcudart.so.13, libcuda.so.1, libvgpu-client.so.1 and
#              test/integration/guest_programs/*)
#   OUT_DIR    where vmlinuz and the initramfs go (created if missing)
#
# Environment:
#   VGPU_VM_CACHE   where the kernel is cached (default ${XDG_CACHE_HOME:-~/.cache}/vgpu-vm).
#                   Once it holds a kernel, no network is needed.
#   VGPU_VM_KERNEL  use this kernel image instead of Debian's (skips the cache entirely)
#   VGPU_VM_REFRESH=1  fetch the current linux-image-amd64 again even if one is cached
#   VGPU_VM_GPU_BUNDLE  a bundle made by test/gpu/make-bundle.sh: its programs/, samples/,
#                   programs-static/ and programs-driver/ (real CUDA programs, and the driver-API
#                   programs' .cubin/.fatbin/.ptx beside them) go into the guest as
#                   /opt/gpu/KIND, for test/gpu/run-vm.sh on the GPU machine
#   VGPU_VM_COMPRESS  gzip (default: initramfs.cpio.gz) or xz (initramfs.cpio.xz, which the
#                   Debian kernel unpacks too). make-vm-bundle.sh takes xz: gzip's 32 KiB window
#                   cannot see that programs-static's binaries share NVIDIA's runtime, xz's 8 MiB
#                   dictionary can (their 17 MB pack into 1 MB instead of 5.5 MB); xz costs about
#                   a second more per boot under TCG
#   KEEP_DEBUG=1    keep the debug information of vgpu's libraries (stripped by default, symbols
#                   kept, as make-bundle.sh does)
set -euo pipefail

die() { echo "build-guest.sh: $*" >&2; exit 1; }

[ $# -eq 2 ] || die "usage: $0 BUILD_DIR OUT_DIR"
BUILD_DIR=$(realpath "$1")
mkdir -p "$2"
OUT_DIR=$(realpath "$2")
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)

SHIM="$BUILD_DIR/guest/lib/libcudart.so.13"
DRIVER_SHIM="$BUILD_DIR/guest/lib/libcuda.so.1"
PROGDIR="$BUILD_DIR/test/integration/guest_programs"
BUSYBOX=${BUSYBOX:-/bin/busybox}
COMPRESS=${VGPU_VM_COMPRESS:-gzip}

[ -f "$SHIM" ] || die "$SHIM not found: build the project first (cmake --build $BUILD_DIR)"
[ -f "$DRIVER_SHIM" ] || die "$DRIVER_SHIM not found: build the project first (cmake --build $BUILD_DIR)"
case "$COMPRESS" in
  gzip | xz) command -v "$COMPRESS" >/dev/null || die "'$COMPRESS' not found (VGPU_VM_COMPRESS)" ;;
  *) die "VGPU_VM_COMPRESS must be gzip or xz, not '$COMPRESS'" ;;
esac
[ -d "$PROGDIR" ] || die "$PROGDIR not found: configure with -DVGPU_BUILD_TESTS=ON and build"
# The guest has no libc of its own for busybox, so it must be the static build.
# (ldd fails on a static executable.)
if [ ! -x "$BUSYBOX" ] || ldd "$BUSYBOX" >/dev/null 2>&1; then
  die "$BUSYBOX is missing or not statically linked: apt-get install busybox-static"
fi
for tool in cpio gzip ldd ldconfig dpkg-deb; do
  command -v "$tool" >/dev/null || die "'$tool' not found (scripts/install-deps.sh installs what is needed)"
done

# ---------------------------------------------------------------------------------------------
# Kernel: Debian's linux-image-amd64 has everything the harness needs built in (PCI, sysfs,
# devtmpfs, tmpfs, 8250 serial console, gzip initramfs), so no modules go into the initramfs.
# Only /boot/vmlinuz-* is pulled out of the .deb (dpkg -x would unpack ~400 MB of modules).
# ---------------------------------------------------------------------------------------------
CACHE=${VGPU_VM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vgpu-vm}
fetch_kernel() {
  mkdir -p "$CACHE"
  local meta pkg tmp
  # linux-image-amd64 is a metapackage; its dependency names the versioned kernel package.
  meta=$(apt-cache depends linux-image-amd64 2>/dev/null || true)
  pkg=$(printf '%s\n' "$meta" | sed -n 's/^ *Depends: \(linux-image-[0-9].*-amd64\)$/\1/p' | head -n1)
  [ -n "$pkg" ] || die "cannot resolve linux-image-amd64 (run 'apt-get update' first, or set VGPU_VM_KERNEL)"
  tmp=$(mktemp -d "$CACHE/dl.XXXXXX")
  echo "build-guest.sh: fetching $pkg into $CACHE" >&2
  # apt-get download writes into the current directory; as root it warns that the download is
  # unsandboxed (the _apt user cannot write to the cache dir): harmless, so filtered out.
  if ! (cd "$tmp" && apt-get download -qq "$pkg") 2>&1 | { grep -v 'unsandboxed' || true; } >&2; then
    rm -rf "$tmp"
    die "apt-get download $pkg failed (no network? set VGPU_VM_KERNEL to a kernel image instead)"
  fi
  local debs imgs img
  debs=("$tmp"/*.deb)
  [ -f "${debs[0]}" ] || { rm -rf "$tmp"; die "apt-get download $pkg left no .deb"; }
  dpkg-deb --fsys-tarfile "${debs[0]}" | tar -x -C "$tmp" --wildcards './boot/vmlinuz-*'
  imgs=("$tmp"/boot/vmlinuz-*)
  img=${imgs[0]}
  cp "$img" "$CACHE/$(basename "$img")"
  ln -sfn "$(basename "$img")" "$CACHE/vmlinuz"
  rm -rf "$tmp"
}
if [ -n "${VGPU_VM_KERNEL:-}" ]; then
  [ -f "$VGPU_VM_KERNEL" ] || die "VGPU_VM_KERNEL=$VGPU_VM_KERNEL does not exist"
  KERNEL=$VGPU_VM_KERNEL
else
  if [ "${VGPU_VM_REFRESH:-0}" = 1 ] || [ ! -f "$CACHE/vmlinuz" ]; then
    fetch_kernel
  fi
  KERNEL="$CACHE/vmlinuz"
fi
cp -L "$KERNEL" "$OUT_DIR/vmlinuz"

# ---------------------------------------------------------------------------------------------
# Initramfs root.
# ---------------------------------------------------------------------------------------------
ROOT=$(mktemp -d "${TMPDIR:-/tmp}/vgpu-initramfs.XXXXXX")
trap 'rm -rf "$ROOT"' EXIT
mkdir -p "$ROOT"/{bin,sbin,usr/bin,usr/sbin,usr/local/bin,usr/lib/vgpu,etc/ld.so.conf.d} \
         "$ROOT"/{proc,sys,dev,tmp,run,root,tests,home}
chmod 1777 "$ROOT/tmp"

# busybox and one symlink per applet, at the paths busybox itself reports.
install -m 755 "$BUSYBOX" "$ROOT/bin/busybox"
while read -r applet; do
  [ "$applet" = bin/busybox ] && continue
  mkdir -p "$ROOT/$(dirname "$applet")"
  ln -sf /bin/busybox "$ROOT/$applet"
done < <("$BUSYBOX" --list-full)

install -m 755 "$HERE/guest-init.sh" "$ROOT/init"
install -m 755 "$HERE/run-as.sh" "$ROOT/usr/bin/run-as"
# vgpu-mmap lets scripts look at the stub's BARs (sysfs resource files can only be mmapped).
"${CC:-cc}" -O2 -Wall -o "$ROOT/usr/local/bin/vgpu-mmap" "$HERE/vgpu-mmap.c" \
  || die "compiling vgpu-mmap.c failed (set CC, or apt-get install build-essential)"

# The shims where the guest package installs them, found through ld.so.conf.d like on a real
# guest: the runtime shim, the driver shim (which NVIDIA's static runtime dlopens, and which the
# driver-API programs need) and the guest client both share (RUNPATH $ORIGIN: beside them).
install -m 755 "$SHIM" "$ROOT/usr/lib/vgpu/libcudart.so.13"
install -m 755 "$DRIVER_SHIM" "$ROOT/usr/lib/vgpu/libcuda.so.1"
install -m 755 "$(dirname "$SHIM")/libvgpu-client.so.1" "$ROOT/usr/lib/vgpu/libvgpu-client.so.1"
ln -sf libcudart.so.13 "$ROOT/usr/lib/vgpu/libcudart.so"
# Debug information is most of their size (a RelWithDebInfo build's are 3-4 MB each, about
# 0.2-0.5 MB without); the symbol table stays, so backtraces still have names.
if [ "${KEEP_DEBUG:-0}" != 1 ] && command -v strip >/dev/null; then
  strip --strip-debug "$ROOT"/usr/lib/vgpu/*.so.*
fi
if [ -f "$REPO/packaging/guest/vgpu-guest.conf" ]; then
  cp "$REPO/packaging/guest/vgpu-guest.conf" "$ROOT/etc/ld.so.conf.d/vgpu-guest.conf"
else
  echo /usr/lib/vgpu > "$ROOT/etc/ld.so.conf.d/vgpu-guest.conf"
fi
echo 'include /etc/ld.so.conf.d/*.conf' > "$ROOT/etc/ld.so.conf"

# Every executable in the guest programs dir (memory_roundtrip, fake_kernels, ...) goes on PATH.
PROGS=()
for f in "$PROGDIR"/*; do
  if [ -f "$f" ] && [ -x "$f" ]; then
    install -m 755 "$f" "$ROOT/usr/local/bin/"
    PROGS+=("$f")
  fi
done
[ ${#PROGS[@]} -gt 0 ] || die "no guest programs in $PROGDIR: build target vgpu_guest_programs"
if [ -n "${VGPU_VM_GPU_BUNDLE:-}" ]; then
  # Every file of each set, with its mode: executables are the programs (their libraries are
  # copied below), the rest are companion files (programs-driver's .cubin/.fatbin/.ptx, which
  # the programs find beside themselves). Hidden files (build logs) stay out.
  for kind in programs samples programs-static programs-driver; do
    [ -d "$VGPU_VM_GPU_BUNDLE/$kind" ] || continue
    mkdir -p "$ROOT/opt/gpu/$kind"
    for f in "$VGPU_VM_GPU_BUNDLE/$kind"/*; do
      [ -f "$f" ] || continue
      if [ -x "$f" ]; then
        install -m 755 "$f" "$ROOT/opt/gpu/$kind/"
        PROGS+=("$f")
      else
        install -m 644 "$f" "$ROOT/opt/gpu/$kind/"
      fi
    done
  done
fi

# Shared libraries: the guest is the same Debian userspace as this host, so the host's files
# are copied to the same paths. vgpu's own libraries are skipped: ldd finds them in the build
# dir through the guest programs' RUNPATH (which does not exist in the guest, so the loader
# falls back to the cache and /usr/lib/vgpu), and the host's CUDA toolkit runtime, or any
# driver, must never reach the guest: they are what the shims stand in for.
copy_lib() {
  local src=$1
  [ -e "$ROOT$src" ] && return 0
  mkdir -p "$ROOT$(dirname "$src")"
  cp -L "$src" "$ROOT$src"
}
for bin in "$SHIM" "$DRIVER_SHIM" "${PROGS[@]}" "$ROOT/usr/local/bin/vgpu-mmap"; do
  ldd "$bin" >/dev/null 2>&1 || die "ldd $bin failed: not a dynamic executable of this host?"
  while read -r lib; do
    case "$lib" in
      */libcudart.so* | */libcuda.so* | */libvgpu-client.so* | */libnvidia-*) ;;
      /*) copy_lib "$lib" ;;
    esac
  done < <(ldd "$bin" | awk '/=> \// { print $3; next } /^[[:space:]]*\// { print $1 }')
done
# The guest's ld.so.cache (what ldconfig makes on a real guest at package install).
ldconfig -r "$ROOT"
# No NVIDIA driver or runtime in the guest, and the loader finds vgpu's libcuda.so.1: a static
# runtime that dlopens libcuda.so.1 must get the shim, or fail, never reach a GPU some other way.
strays=$(cd "$ROOT" && find . -path ./usr/lib/vgpu -prune -o \
  \( -name 'libcuda.so*' -o -name 'libcudart.so*' -o -name 'libnvidia-*' \) -print)
[ -z "$strays" ] || die "CUDA libraries outside /usr/lib/vgpu in the image: $strays"
ldconfig -p -C "$ROOT/etc/ld.so.cache" | grep -q 'libcuda\.so\.1 .*=> /usr/lib/vgpu/libcuda\.so\.1$' \
  || die "the image's ld.so.cache does not map libcuda.so.1 to /usr/lib/vgpu/libcuda.so.1"

# Guest test scripts.
shopt -s nullglob
for t in "$HERE"/guest-tests/*.sh; do install -m 755 "$t" "$ROOT/tests/"; done
shopt -u nullglob

# Users: root; vgpuuser (uid 1000) in group vgpu, as after `usermod -aG vgpu`; otheruser
# (uid 1001) not in it. Group vgpu is a system group like the guest package's.
cat > "$ROOT/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
vgpuuser:x:1000:1000:vgpu test user:/home/vgpuuser:/bin/sh
otheruser:x:1001:1001:non-vgpu test user:/home/otheruser:/bin/sh
PASSWD
cat > "$ROOT/etc/group" <<'GROUP'
root:x:0:
vgpu:x:990:vgpuuser
vgpuuser:x:1000:
otheruser:x:1001:
GROUP
echo vgpu-guest > "$ROOT/etc/hostname"

# newc is the format the kernel unpacks. Everything is owned by root (-R 0:0, so a non-root
# build gives the same image; /init makes the users' homes); files are sorted and their times
# zeroed so the same inputs give the same archive.
find "$ROOT" -exec touch -h -d @0 {} +
# The kernel's xz decoder takes only CRC32 (or no) checks; -T1 keeps the stream to one block.
case "$COMPRESS" in
  gzip) INITRD=$OUT_DIR/initramfs.cpio.gz; compress=(gzip -6) ;;
  xz) INITRD=$OUT_DIR/initramfs.cpio.xz; compress=(xz -6 -T1 --check=crc32) ;;
esac
(cd "$ROOT" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0 --reproducible) \
  | "${compress[@]}" > "$INITRD.tmp"
# One initramfs per image: boot.sh boots whichever is there.
rm -f "$OUT_DIR/initramfs.cpio.gz" "$OUT_DIR/initramfs.cpio.xz"
mv "$INITRD.tmp" "$INITRD"
echo "build-guest.sh: $OUT_DIR/vmlinuz ($(basename "$(readlink -f "$KERNEL")")), $INITRD ($(du -h "$INITRD" | cut -f1))" >&2
