#!/usr/bin/env bash
# make-vm-bundle.sh BUILD_DIR BUNDLE_DIR
#
# Runs on the build machine after make-bundle.sh (and samples.sh): adds what run-vm.sh needs on
# the GPU machine to BUNDLE_DIR/vm: the guest image (test/vm/build-guest.sh, with the bundle's
# programs, samples, programs-static and programs-driver in /opt/gpu, and vgpu's libcudart.so.13
# and libcuda.so.1 in /usr/lib/vgpu) and QEMU packed by pack-qemu.sh.
#
# The initramfs is xz-compressed (initramfs.cpio.xz): programs-static's 17 binaries each carry
# NVIDIA's runtime, which gzip packs into 5.5 MB and xz into 1 MB. The device carry limit is
# 64 MiB for the whole bundle.
set -euo pipefail
[[ $# -eq 2 ]] || { echo "usage: $0 BUILD_DIR BUNDLE_DIR" >&2; exit 2; }
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
bundle=$(cd "$2" && pwd)
for d in programs programs-static programs-driver; do
  [[ -d "$bundle/$d" ]] || { echo "error: $bundle/$d missing: run make-bundle.sh first" >&2; exit 1; }
done
mkdir -p "$bundle/vm"
VGPU_VM_COMPRESS=xz VGPU_VM_GPU_BUNDLE=$bundle "$here/../vm/build-guest.sh" "$1" "$bundle/vm"
"$here/pack-qemu.sh" "$bundle/vm/qemu.tar.xz"
du -sh "$bundle/vm" "$bundle"
