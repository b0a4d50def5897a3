#!/bin/sh
# A hostile guest (run by test/vm/run-tests.sh while another VM is being served by the same
# vgpud): as root, scribble_stub overwrites this VM's whole region and rings every doorbell for
# VGPU_SCRIBBLE_S seconds, then checks that its own CUDA call fails instead of hanging. After it,
# new processes of this VM get an error too (the region is garbage until the VM restarts).
set -u
fail() { echo "FAIL: $*"; exit 1; }
seconds=${VGPU_SCRIBBLE_S:-8}
echo "== scribbling over the region for $seconds s"
scribble_stub "$seconds" || fail "scribble_stub: its call succeeded or it crashed"
echo "== a new process after the scribbling"
if memory_roundtrip > /tmp/after.log 2>&1; then cat /tmp/after.log; fail "a channel opened on a scribbled region"; fi
cat /tmp/after.log
echo "scribble: the hostile guest got errors"
