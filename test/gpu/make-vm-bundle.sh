#!/usr/bin/env bash
# make-vm-bundle.sh BUILD_DIR BUNDLE_DIR
#
# Runs on the build machine after make-bundle.sh (and samples.sh): adds what run-vm.sh needs on
# the GPU machine to BUNDLE_DIR/vm: the guest image (test/vm/build-guest.sh, with the bundle's
# real CUDA programs and samples in /opt/gpu) and QEMU packed by pack-qemu.sh.
set -euo pipefail
[[ $# -eq 2 ]] || { echo "usage: $0 BUILD_DIR BUNDLE_DIR" >&2; exit 2; }
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
bundle=$(cd "$2" && pwd)
[[ -d "$bundle/programs" ]] || { echo "error: $bundle/programs missing: run make-bundle.sh first" >&2; exit 1; }
mkdir -p "$bundle/vm"
VGPU_VM_GPU_BUNDLE=$bundle "$here/../vm/build-guest.sh" "$1" "$bundle/vm"
"$here/pack-qemu.sh" "$bundle/vm/qemu.tar.xz"
du -sh "$bundle"
