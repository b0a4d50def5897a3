#!/usr/bin/env bash
# Installs what is needed, builds everything and runs every test: as shipped (-Werror,
# RelWithDebInfo), under AddressSanitizer + UndefinedBehaviorSanitizer, with clang (Release),
# each fuzz target for a bounded time, the README's demo, and the packages installed into a
# fresh Debian root. Each stage has its own build directory:
#   build/          GCC RelWithDebInfo, tests          build-asan/  GCC Debug, ASan+UBSan, tests
#   build-clang/    clang Release, tests               build-fuzz/  clang, libFuzzer targets
#   build-release/  GCC Release: scripts/demo.sh     build-package/  GCC Release: scripts/package.sh
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
jobs=$(nproc)
# Each stage says how long it took, so CI's log shows where its time goes.
stage() { echo "=== [$((SECONDS / 60)) min] $* ==="; }

stage "build and test (GCC, RelWithDebInfo, -Wall -Wextra -Werror)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVGPU_WERROR=ON -DVGPU_BUILD_TESTS=ON \
  -DVGPU_VM_TESTS=ON >/dev/null
cmake --build build -j"$jobs"
(cd build && ctest --output-on-failure)

stage "build and test under ASan + UBSan (GCC, Debug)"
cmake -S . -B build-asan -DVGPU_WERROR=ON -DVGPU_BUILD_TESTS=ON -DVGPU_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build-asan -j"$jobs"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --output-on-failure)

stage "build and test with clang (Release, -Werror)"
CC=clang CXX=clang++ cmake -S . -B build-clang -DCMAKE_BUILD_TYPE=Release -DVGPU_WERROR=ON \
  -DVGPU_BUILD_TESTS=ON >/dev/null
cmake --build build-clang -j"$jobs"
(cd build-clang && ctest --output-on-failure -E '^vm$')

stage "fuzz targets (libFuzzer; the code under test instrumented; bounded by time)"
test/fuzz/run-fuzzers.sh build-fuzz "${VGPU_FUZZ_SECONDS:-45}"

stage "the README's first command: scripts/demo.sh (GCC, Release)"
demo_log=$(mktemp)
set +e
scripts/demo.sh >"$demo_log" 2>&1
demo_rc=$?
set -e
cat "$demo_log"
if ldconfig -p | grep -q 'libcuda.so.1 '; then
  [ "$demo_rc" -eq 0 ] || { echo "demo.sh failed (exit $demo_rc) on a machine with a driver"; exit 1; }
else
  # Without a GPU driver the demo must stop with vgpud's one sentence and a non-zero exit.
  [ "$demo_rc" -ne 0 ] || { echo "demo.sh exited 0 without an NVIDIA driver"; exit 1; }
  grep -q "could not be loaded: install the NVIDIA driver" "$demo_log" ||
    { echo "demo.sh did not say that the NVIDIA driver is missing"; exit 1; }
  echo "demo.sh: exit $demo_rc with vgpud's driver sentence, as expected without a driver"
fi
rm -f "$demo_log"

stage "packages: scripts/package.sh, then the .rpm and .deb checks"
scripts/package.sh
test/packaging/check-rpms.sh build-package/packages
test/packaging/check-debs.sh build-package/packages
echo "all test stages passed in $((SECONDS / 60)) min"
