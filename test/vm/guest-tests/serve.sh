#!/bin/sh
# The bystander VM (run by test/vm/run-tests.sh while another VM of the same vgpud is
# hostile): runs memory_roundtrip as vgpuuser again and again for VGPU_SERVE_S seconds; every
# run must succeed.
set -u
seconds=${VGPU_SERVE_S:-10}
end=$(( $(cut -d. -f1 /proc/uptime) + seconds ))
runs=0
while [ "$(cut -d. -f1 /proc/uptime)" -lt "$end" ]; do
  run-as vgpuuser memory_roundtrip > /tmp/serve.log 2>&1 || { cat /tmp/serve.log; echo "FAIL: run $((runs + 1)) failed"; exit 1; }
  runs=$((runs + 1))
done
[ "$runs" -gt 0 ] || { echo "FAIL: no run finished"; exit 1; }
echo "serve: $runs runs of memory_roundtrip in ${seconds} s, all ok"
