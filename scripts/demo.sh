#!/usr/bin/env bash
# Installs what is needed, builds vgpu, starts vgpud with config/vgpu.yaml and runs a bundled
# CUDA program through it. On a machine without an NVIDIA driver vgpud says so and this exits
# non-zero. It builds in build-release/ (Release).
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

scripts/install-deps.sh
cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DVGPU_BUILD_TESTS=OFF >/dev/null
cmake --build build-release -j"$(nproc)" >/dev/null

# The demo program, built as an ordinary CUDA program against the shared runtime.
/usr/local/cuda/bin/nvcc -cudart shared -O2 -o build-release/vector_add_demo examples/vector_add_demo.cu

# config/vgpu.yaml serves tenant 'default' on /run/vgpu/default.sock for group 'vgpu'.
$SUDO mkdir -p /run/vgpu
getent group vgpu >/dev/null || $SUDO groupadd --system vgpu
log=$(mktemp)
$SUDO build-release/vgpud/vgpud --config config/vgpu.yaml >"$log" 2>&1 &
vgpud_pid=$!
trap '$SUDO kill -TERM $vgpud_pid 2>/dev/null || true; wait $vgpud_pid 2>/dev/null || true' EXIT

for _ in $(seq 100); do
  [ -S /run/vgpu/default.sock ] && break
  if ! kill -0 "$vgpud_pid" 2>/dev/null; then
    echo "vgpud did not start:" >&2
    sed 's/^/  /' "$log" >&2
    exit 1
  fi
  sleep 0.1
done
[ -S /run/vgpu/default.sock ] || { echo "vgpud did not open /run/vgpu/default.sock" >&2; exit 1; }

echo "--- vector_add_demo through vgpud (libvgpu-cudart in place of libcudart.so.13) ---"
$SUDO env LD_LIBRARY_PATH="$PWD/build-release/guest/lib" VGPU_SOCKET=/run/vgpu/default.sock \
  build-release/vector_add_demo
