#!/usr/bin/env bash
# Builds the host and guest packages, .deb and .rpm, each with its debug package, from one
# Release build (build-package/release/) into build-package/packages/.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
jobs=$(nproc)
# rpm's debugedit rewrites the source paths inside the debug info in place, so the build must
# see the sources under a path at least as long as the one the -debuginfo packages install
# them under (/usr/src/debug/vgpu/src_N, packaging/CMakeLists.txt). A symlink gives any
# checkout such a path.
mkdir -p build-package
ln -sfn "$PWD" build-package/vgpu-sources
cmake -S build-package/vgpu-sources -B build-package/release -DCMAKE_BUILD_TYPE=Release \
  -DVGPU_BUILD_TESTS=OFF >/dev/null
cmake --build build-package/release -j"$jobs" >/dev/null
rm -rf build-package/packages
(cd build-package/release && cpack -B "$PWD/../packages" >/dev/null 2>cpack.log) ||
  { cat build-package/release/cpack.log; exit 1; }
rm -rf build-package/packages/_CPack_Packages
ls -1 build-package/packages
