#!/usr/bin/env bash
# Records the fuzzers' seed corpora from real traffic. Builds vgpud, the guest shim and the
# tests with the corpus recorder (-DVGPU_CORPUS_RECORDER=ON: each parser hands its input to
# vgpu::corpus::record, common/include/vgpu/common/corpus_recorder.h), runs the integration and
# VM tests with VGPU_CORPUS_DIR set, adds the shipped configuration, then merges what was
# recorded into test/fuzz/corpus/<target>/ with libFuzzer's -merge=1, which keeps only inputs
# that reach code the corpus did not reach yet. Commit the result.
#
#   test/fuzz/record-corpus.sh [RECORDER_BUILD_DIR] [FUZZ_BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
recorder=${1:-build-corpus}
fuzz=${2:-build-fuzz}
raw=$(mktemp -d /tmp/vgpu-corpus.XXXXXX)

cmake -S . -B "$recorder" -DVGPU_BUILD_TESTS=ON -DVGPU_VM_TESTS=ON -DVGPU_CORPUS_RECORDER=ON >/dev/null
cmake --build "$recorder" -j"$(nproc)" >/dev/null
(cd "$recorder" && VGPU_CORPUS_DIR=$raw ctest -R '^(integration|vm)$' --output-on-failure)
mkdir -p "$raw/config"
cp config/vgpu.yaml "$raw/config/shipped-vgpu.yaml"

CC=clang CXX=clang++ cmake -S . -B "$fuzz" -DVGPU_BUILD_FUZZERS=ON -DVGPU_BUILD_TESTS=OFF \
  -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build "$fuzz" -j"$(nproc)" --target vgpu_fuzzers >/dev/null
printf '%-20s %9s %9s\n' target recorded kept
for dir in "$raw"/*/; do
  target=$(basename "$dir")
  [ -x "$fuzz/test/fuzz/fuzz_$target" ] || { echo "no fuzz target for $target"; exit 1; }
  mkdir -p "test/fuzz/corpus/$target"
  before=$(find "test/fuzz/corpus/$target" -type f | wc -l)
  "$fuzz/test/fuzz/fuzz_$target" -merge=1 -max_len=1048576 "test/fuzz/corpus/$target" "$dir" \
    >"$raw/$target.merge.log" 2>&1 || { tail -n 30 "$raw/$target.merge.log"; exit 1; }
  printf '%-20s %9s %9s\n' "$target" "$(find "$dir" -type f | wc -l)" \
    "$(( $(find "test/fuzz/corpus/$target" -type f | wc -l) - before ))"
done
rm -rf "$raw"
