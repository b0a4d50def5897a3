#!/bin/sh
# Runs the real CUDA programs of /opt/gpu (test/gpu's programs and the cuda-samples, put in the
# image with VGPU_VM_GPU_BUNDLE) as vgpuuser, and prints each one's stdout, stderr and exit code
# between markers, for test/gpu/run-vm.sh to compare with the same programs run natively:
#   VGPU-OUT-BEGIN KIND/NAME, then "VGPU-OUT| line" / "VGPU-ERR| line", then
#   VGPU-OUT-END KIND/NAME rc=N
# VGPU_GPU_ONLY: a comma-separated subset of names. VGPU_GPU_TIMEOUT: seconds per program (120).
# After kernel_fault, vector_add runs once more (as vector_add.after): a fault ends only the
# faulting process's channel.
set -u
cd /tmp || exit 1
limit=${VGPU_GPU_TIMEOUT:-120}
wanted() { [ -z "${VGPU_GPU_ONLY:-}" ] || echo ",$VGPU_GPU_ONLY," | grep -q ",$1,"; }
run_one() {  # run_one LABEL PATH
  echo "VGPU-OUT-BEGIN $1"
  timeout "$limit" run-as vgpuuser "$2" > /tmp/out 2> /tmp/err
  rc=$?
  sed 's/^/VGPU-OUT| /' /tmp/out
  sed 's/^/VGPU-ERR| /' /tmp/err
  echo "VGPU-OUT-END $1 rc=$rc"
}
for kind in programs samples; do
  [ -d "/opt/gpu/$kind" ] || continue
  for p in /opt/gpu/$kind/*; do
    name=${p##*/}
    wanted "$name" || continue
    run_one "$kind/$name" "$p"
    if [ "$name" = kernel_fault ] && [ -x /opt/gpu/programs/vector_add ]; then
      run_one programs/vector_add.after /opt/gpu/programs/vector_add
    fi
  done
done
