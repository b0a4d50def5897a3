#!/usr/bin/env bash
# run-gpu.sh BUNDLE_DIR [vgpu-bench options...]
#
# Runs on the GPU machine, on a bundle made by test/gpu/make-bundle.sh from a build that has
# bench/ (vgpu-bench, vgpu-bench-transport, vgpu-bench-cuda, vgpu-bench-cuda-static). Every
# CUDA case runs three ways in the same run: natively, through vgpu's runtime shim
# (BUNDLE/shim) and, NVIDIA's runtime linked in, through vgpu's driver shim (BUNDLE/driver),
# the last two through a vgpud started by the harness (--sides picks fewer; a bundle without
# the static child or BUNDLE/driver skips the driver side with a note). The table goes to
# stdout and to OUT_DIR/table.md, the samples to OUT_DIR/results.json, vgpud's log and the
# children's stderr to OUT_DIR/work/.
#
# Environment: OUT_DIR (default ./bench-out), CUDA_LIB (default /usr/local/cuda/lib64).
set -euo pipefail
[[ $# -ge 1 ]] || { echo "usage: $0 BUNDLE_DIR [vgpu-bench options...]" >&2; exit 2; }
BUNDLE=$(cd "$1" && pwd)
shift
OUT_DIR=${OUT_DIR:-$PWD/bench-out}
mkdir -p "$OUT_DIR/work"
OUT_DIR=$(cd "$OUT_DIR" && pwd)
[[ -x "$BUNDLE/bench/vgpu-bench" ]] || { echo "error: $BUNDLE/bench/vgpu-bench missing (make-bundle.sh from a build with bench/)" >&2; exit 1; }

{
  echo "machine: $(hostname), $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
  command -v nvidia-smi >/dev/null &&
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | sed 's/^/gpu: /'
  echo "bundle: $(cat "$BUNDLE/COMMIT" 2>/dev/null || echo unknown)"
} | tee "$OUT_DIR/machine.txt"

LD_LIBRARY_PATH="$BUNDLE/lib" "$BUNDLE/bench/vgpu-bench" \
  --vgpud "$BUNDLE/bin/vgpud" \
  --shim-dir "$BUNDLE/shim" --driver-shim-dir "$BUNDLE/driver" --extra-lib-dir "$BUNDLE/lib" \
  --cuda-lib "${CUDA_LIB:-/usr/local/cuda/lib64}" \
  --cuda-cases "$BUNDLE/bench/vgpu-bench-cuda" \
  --cuda-static-cases "$BUNDLE/bench/vgpu-bench-cuda-static" \
  --transport-cases "$BUNDLE/bench/vgpu-bench-transport" \
  --work-dir "$OUT_DIR/work" --out "$OUT_DIR/results.json" \
  --commit "$(cat "$BUNDLE/COMMIT" 2>/dev/null || echo unknown)" "$@" | tee "$OUT_DIR/table.md"
