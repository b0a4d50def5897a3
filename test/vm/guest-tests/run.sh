#!/bin/sh
# Runs one guest program as a given user and exits with its status:
#   boot.sh IMAGE SOCKET run VGPU_PROG=memory_roundtrip [VGPU_USER=otheruser] [VGPU_ARGS="fault"]
# VGPU_PROG: a program on the guest's PATH (the guest programs are in /usr/local/bin).
# VGPU_USER: vgpuuser (default; in group vgpu), otheruser (not in it) or root.
# VGPU_ARGS: its arguments, split on spaces (the kernel command line keeps "..." together).
set -eu
: "${VGPU_PROG:?set VGPU_PROG=<program> on the kernel command line}"
user=${VGPU_USER:-vgpuuser}
echo "run: $VGPU_PROG ${VGPU_ARGS:-} as $user"
set +e
# shellcheck disable=SC2086  # VGPU_ARGS is split on purpose
run-as "$user" "$VGPU_PROG" ${VGPU_ARGS:-}
rc=$?
set -e
echo "run: $VGPU_PROG exited with $rc"
exit $rc
