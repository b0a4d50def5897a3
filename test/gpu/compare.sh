# Sourced by lib.sh and run-vm.sh: what may differ between a native run and a remoted one.
#
# filter_sample FILE: a cuda-samples program's stdout without the lines that legitimately differ
# between two runs, host or GPU timings. Nothing else is filtered (device names, SM counts,
# results must all match):
#   simpleTemplates, simpleAtomicIntrinsics  "Processing time: %f (ms)"          (host stopwatch)
#   mergeSort                                "Time: %f ms"                        (host stopwatch)
#   simpleHyperQ                             "Measured time for sample = %.3fs"  (event timing)
filter_sample() {
  sed -E \
    -e '/^Processing time: [0-9.]+ \(ms\)$/d' \
    -e '/^Time: [0-9.]+ ms$/d' \
    -e '/^Measured time for sample = [0-9.]+s$/d' \
    "$1"
}
