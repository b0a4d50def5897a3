#!/bin/sh
# Harness self-test: sleeps VGPU_TEST_SLEEP seconds (default 0), then exits with VGPU_TEST_RC
# (default 0). Checks that boot.sh passes the guest's exit status and its timeout on:
#   boot.sh IMAGE none exit-code VGPU_TEST_RC=3         -> exits 3
#   VM_TIMEOUT=20 boot.sh IMAGE none exit-code VGPU_TEST_SLEEP=600   -> exits 124
set -eu
sleep "${VGPU_TEST_SLEEP:-0}"
echo "exiting with ${VGPU_TEST_RC:-0}"
exit "${VGPU_TEST_RC:-0}"
