# Sourced by lib.sh and run-vm.sh: what may differ between a native run and a remoted one.
#
# filter_sample FILE: a cuda-samples program's stdout without the lines that legitimately differ
# between two runs, host or GPU timings. Nothing else is filtered (device names, SM counts,
# results must all match):
#   simpleTemplates, simpleAtomicIntrinsics  "Processing time: %f (ms)"          (host stopwatch)
#   mergeSort                                "Time: %f ms"                        (host stopwatch)
#   simpleHyperQ                             "Measured time for sample = %.3fs"  (event timing)
# and every timing line samples-static.txt lists for the static-runtime samples (each a whole
# line, so applying them all to every sample deletes nothing else).
COMPARE_SAMPLE_PATTERNS="$(dirname "${BASH_SOURCE[0]}")/samples-static.txt"
filter_sample() {
  local -a exprs=(-e '/^Processing time: [0-9.]+ \(ms\)$/d' -e '/^Time: [0-9.]+ ms$/d'
                  -e '/^Measured time for sample = [0-9.]+s$/d')
  local re
  if [[ -f "$COMPARE_SAMPLE_PATTERNS" ]]; then
    while IFS= read -r re; do
      exprs+=(-e "\\|${re//|/\\|}|d")
    done < <(grep -v '^#' "$COMPARE_SAMPLE_PATTERNS" | grep '|' | cut -d'|' -f2-)
  fi
  sed -E "${exprs[@]}" "$1"
}
