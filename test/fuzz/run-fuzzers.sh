#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (the code under test instrumented too) and runs each
# for a bounded time from its seed corpus, corpus/<target>/ (recorded from real traffic by
# record-corpus.sh). New inputs go to a scratch corpus; the seeds are only read. For each target
# it prints the seeds, the coverage once the seeds are loaded (INITED), the final executions,
# coverage and corpus size (DONE); a crash, leak, sanitizer report or hang (an input taking over
# 10 s) fails the run and leaves the input under the scratch folder.
#
#   test/fuzz/run-fuzzers.sh BUILD_DIR [SECONDS_PER_TARGET]
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:?usage: run-fuzzers.sh BUILD_DIR [SECONDS]}
seconds=${2:-45}
CC=clang CXX=clang++ cmake -S . -B "$build" -DVGPU_BUILD_FUZZERS=ON -DVGPU_BUILD_TESTS=OFF \
  -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build "$build" -j"$(nproc)" --target vgpu_fuzzers >/dev/null

scratch=$(mktemp -d /tmp/vgpu-fuzz.XXXXXX)
printf '%-24s %6s %10s %10s %10s %8s %8s\n' target seeds seed_cov runs final_cov ft corpus
for f in "$build"/test/fuzz/fuzz_*; do
  [ -x "$f" ] || continue
  name=$(basename "$f")
  target=${name#fuzz_}
  seeds=test/fuzz/corpus/$target
  [ -d "$seeds" ] || { echo "$name: no seed corpus in $seeds"; exit 1; }
  mkdir -p "$scratch/$target"
  log=$scratch/$target.log
  if ! (cd "$scratch/$target" && ASAN_OPTIONS=symbolize=1:detect_leaks=1 \
        UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        "$OLDPWD/$f" -max_total_time="$seconds" -timeout=10 -max_len=70000 -print_final_stats=1 \
        "$scratch/$target" "$OLDPWD/$seeds") >"$log" 2>&1; then
    tail -n 60 "$log"
    echo "$name failed; its log and inputs are in $scratch"
    exit 1
  fi
  # libFuzzer's status lines: "#N INITED cov: C ft: F corp: K/..." and "#N DONE cov: ...".
  inited=$(grep -m1 -E '^#[0-9]+\s+INITED' "$log" || true)
  done_line=$(grep -E '^#[0-9]+\s+DONE' "$log" | tail -n1 || true)
  field() { sed -n "s/.*$1: *\([0-9]*\).*/\1/p" <<<"$2"; }
  printf '%-24s %6s %10s %10s %10s %8s %8s\n' "$name" "$(find "$seeds" -type f | wc -l)" \
    "$(field cov "$inited")" "$(sed -n 's/^#\([0-9]*\).*/\1/p' <<<"$done_line")" \
    "$(field cov "$done_line")" "$(field ft "$done_line")" \
    "$(sed -n 's/.*corp: *\([0-9]*\).*/\1/p' <<<"$done_line")"
done
rm -rf "$scratch"
