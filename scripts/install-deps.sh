#!/usr/bin/env bash
# Installs what building and testing vgpu needs, from Debian 12's packages. The CUDA toolkit
# (headers and nvcc) is expected under /usr/local/cuda already.
set -euo pipefail
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends \
  build-essential cmake pkg-config ca-certificates \
  libboost-program-options-dev libyaml-cpp-dev libsystemd-dev libspdlog-dev libfmt-dev \
  catch2 clang libclang-rt-14-dev nlohmann-json3-dev >/dev/null
# The VM test (test/vm/): QEMU with TCG to boot the guest, busybox-static and cpio to build its
# initramfs. The guest kernel is not installed: build-guest.sh fetches linux-image-amd64 with
# apt-get download into its cache.
$SUDO apt-get install -y -qq --no-install-recommends \
  qemu-system-x86 busybox-static cpio >/dev/null
# Packages (scripts/package.sh): rpmbuild and its debuginfo extraction; debootstrap for the
# test that installs the .debs into a fresh Debian root.
$SUDO apt-get install -y -qq --no-install-recommends rpm debugedit elfutils debootstrap >/dev/null
if [ ! -f /usr/local/cuda/include/cuda.h ]; then
  echo "The CUDA toolkit is not installed under /usr/local/cuda: install it (CUDA 12.4 or newer) and run this again." >&2
  exit 1
fi
