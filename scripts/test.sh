#!/usr/bin/env bash
# Installs what is needed, builds everything and runs every test: once as shipped
# (-Werror), once under AddressSanitizer + UndefinedBehaviorSanitizer, then each fuzz target
# for a bounded number of runs.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
jobs=$(nproc)

echo "=== build and test (-Wall -Wextra -Werror) ==="
cmake -S . -B build -DVGPU_WERROR=ON -DVGPU_BUILD_TESTS=ON -DVGPU_VM_TESTS=ON >/dev/null
cmake --build build -j"$jobs"
(cd build && ctest --output-on-failure)

echo "=== build and test under ASan + UBSan ==="
cmake -S . -B build-asan -DVGPU_WERROR=ON -DVGPU_BUILD_TESTS=ON -DVGPU_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build-asan -j"$jobs"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --output-on-failure)

echo "=== fuzz targets (libFuzzer, bounded) ==="
CC=clang CXX=clang++ cmake -S . -B build-fuzz -DVGPU_BUILD_FUZZERS=ON -DVGPU_BUILD_TESTS=OFF \
  -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build-fuzz -j"$jobs" --target vgpu_fuzzers
for f in build-fuzz/test/fuzz/fuzz_*; do
  [ -x "$f" ] || continue
  echo "--- $(basename "$f")"
  # Bounded by runs and by time; an input that takes over 10 s counts as a hang and fails.
  ASAN_OPTIONS=symbolize=0 "$f" -runs="${VGPU_FUZZ_RUNS:-200000}" -max_total_time="${VGPU_FUZZ_SECONDS:-60}" \
    -timeout=10 -max_len=70000 2>&1 | tail -n 2
done
echo "all test stages passed"
