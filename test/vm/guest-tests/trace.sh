#!/bin/sh
# One small CUDA program (VGPU_PROG, default /opt/gpu/programs/trace_malloc: one cudaMalloc and
# one cudaFree) as vgpuuser with the shim's debug trace on, so that its lines can be read next
# to vgpud's debug log: the same call id and sequence number at every hop.
set -u
cd /tmp || exit 1
run-as vgpuuser env VGPU_LOG=debug "${VGPU_PROG:-/opt/gpu/programs/trace_malloc}"
