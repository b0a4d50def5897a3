#!/usr/bin/env bash
# run-frameworks-bench.sh BUNDLE_DIR
#
# The framework benchmarks, on the GPU machine (as root), from the repository root: each case of
# cases.py runs natively and through vgpu (driver hidden, vgpu's libcuda.so.1 and
# libnvidia-ml.so.1 from BUNDLE/driver, as test/gpu/frameworks/run-frameworks.sh runs them), in
# ROUNDS rounds (default 3) whose order alternates, so that neither side always runs on a warmer
# machine. first_call runs twice per round and side: the first process of a fresh tenant (vgpud
# restarted: its module cache empty) and a later one. Prints summarize.py's table (medians,
# vgpu/native, the issue's targets) and writes every sample to OUT_DIR/samples.jsonl.
#
# Environment: ROUNDS, CASES (a subset, comma-separated), OUT_DIR (default ./bench-frameworks-out).
set -euo pipefail
[[ $# -eq 1 ]] || { echo "usage: $0 BUNDLE_DIR" >&2; exit 2; }
BUNDLE=$(cd "$1" && pwd)
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROUNDS=${ROUNDS:-3}
CASES=${CASES:-gemm,gpt_train,decode_eager,decode_graph,first_call}
OUT_DIR=${OUT_DIR:-bench-frameworks-out}
mkdir -p "$OUT_DIR"
OUT_DIR=$(cd "$OUT_DIR" && pwd)
SAMPLES=$OUT_DIR/samples.jsonl
: >"$SAMPLES"
RUN_TIMEOUT=300
DEADLINE=""
LOG_TAG=frameworks-bench
. "$HERE/../../test/gpu/lib.sh"
OUT_LOG_DIR=$OUT_DIR setup_work vgpu-bench-frameworks
mkdir -p "$WORK/vgpud"
chmod 0755 "$WORK/vgpud"
SOCK=$WORK/vgpud/bench.sock
cat >"$WORK/vgpud/vgpu.yaml" <<YAML
tenants:
  - name: bench
    gpus: [0]
    local:
      socket: $SOCK
YAML
restart_vgpud() {
  [[ -n "$VGPUD_PID" ]] && stop_vgpud "$VGPUD_PID"
  start_vgpud --keep-cuda-visible-devices "$WORK/vgpud/vgpu.yaml" "$OUT_DIR/vgpud.log" "$SOCK" || exit 1
}
export VGPU_GUEST_LIBDIR=$BUNDLE/driver

# one SIDE CASE LABEL: runs the case once, appends its JSON line with side and label to SAMPLES.
one() {
  local side=$1 c=$2 label=$3 prefix=$WORK/outputs/$3-$1
  if [[ "$side" == native ]]; then
    run_prog "$prefix" "$HERE/cases.py" -u VGPU_SOCKET "BENCH_CASE=$c"
  else
    run_prog_hidden "$prefix" "$HERE/cases.py" "LD_LIBRARY_PATH=$BUNDLE/driver" "VGPU_SOCKET=$SOCK" "BENCH_CASE=$c"
  fi
  if [[ "$(cat "$prefix.rc")" != 0 ]]; then
    log "$label on $side failed (rc=$(cat "$prefix.rc")):"
    tail -n 5 "$prefix.err" | sed 's/^/    /'
    return 0
  fi
  python3 -c 'import json,sys; d=json.loads(sys.stdin.readlines()[-1]); d.update(side=sys.argv[1], label=sys.argv[2]); print(json.dumps(d))' \
    "$side" "$label" <"$prefix.out" >>"$SAMPLES"
}

for ((round = 0; round < ROUNDS; round++)); do
  sides=(native vgpu)
  ((round % 2 == 1)) && sides=(vgpu native)
  for c in ${CASES//,/ }; do
    for side in "${sides[@]}"; do
      if [[ "$c" == first_call ]]; then
        [[ "$side" == vgpu ]] && restart_vgpud
        one "$side" first_call first_call_first_process
        one "$side" first_call first_call_later_process
      else
        [[ -z "$VGPUD_PID" ]] && restart_vgpud
        one "$side" "$c" "$c"
      fi
    done
  done
  log "round $((round + 1))/$ROUNDS done"
done
[[ -n "$VGPUD_PID" ]] && stop_vgpud "$VGPUD_PID"
python3 "$HERE/summarize.py" "$SAMPLES" | tee "$OUT_DIR/table.md"
