#!/bin/sh
# Runs the real CUDA programs of /opt/gpu (put in the image with VGPU_VM_GPU_BUNDLE) as vgpuuser,
# and prints each one's stdout, stderr and exit code between markers, for test/gpu/run-vm.sh to
# compare with the same programs run natively:
#   VGPU-OUT-BEGIN KIND/NAME, then "VGPU-OUT| line" / "VGPU-ERR| line", then
#   VGPU-OUT-END KIND/NAME rc=N
# The sets (KIND), each a folder of /opt/gpu:
#   programs, samples  built with -cudart shared: they load /usr/lib/vgpu/libcudart.so.13
#   programs-static    NVIDIA's static runtime inside; it dlopens libcuda.so.1, vgpu's driver shim
#   programs-driver    the driver API alone (NEEDED libcuda.so.1); their .cubin/.fatbin/.ptx lie
#                      beside them and are not executable, so they are not run
# VGPU_GPU_SETS: comma-separated sets, in this order (default all four). VGPU_GPU_ONLY: a
# comma-separated subset of names, matched in every set. VGPU_GPU_TIMEOUT: seconds per program
# (120). After a set's kernel_fault, that set's vector_add runs once more (as
# KIND/vector_add.after): a fault ends only the faulting process's channel.
set -u
cd /tmp || exit 1
limit=${VGPU_GPU_TIMEOUT:-120}
sets=${VGPU_GPU_SETS:-programs,samples,programs-static,programs-driver}
wanted() { [ -z "${VGPU_GPU_ONLY:-}" ] || echo ",$VGPU_GPU_ONLY," | grep -q ",$1,"; }
run_one() {  # run_one LABEL PATH
  echo "VGPU-OUT-BEGIN $1"
  timeout "$limit" run-as vgpuuser "$2" > /tmp/out 2> /tmp/err
  rc=$?
  sed 's/^/VGPU-OUT| /' /tmp/out
  sed 's/^/VGPU-ERR| /' /tmp/err
  echo "VGPU-OUT-END $1 rc=$rc"
}
for kind in $(echo "$sets" | tr ',' ' '); do
  [ -d "/opt/gpu/$kind" ] || continue
  for p in "/opt/gpu/$kind"/*; do
    { [ -f "$p" ] && [ -x "$p" ]; } || continue
    name=${p##*/}
    wanted "$name" || continue
    run_one "$kind/$name" "$p"
    if [ "$name" = kernel_fault ] && [ -x "/opt/gpu/$kind/vector_add" ]; then
      run_one "$kind/vector_add.after" "/opt/gpu/$kind/vector_add"
    fi
  done
done
