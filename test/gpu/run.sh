#!/usr/bin/env bash
# run.sh BUNDLE_DIR
#
# Runs on the GPU machine (as root), on a bundle made by test/gpu/make-bundle.sh (and optionally
# test/gpu/samples.sh). Proves that CUDA programs give the same results through vgpu as natively:
#
#   1. every program in BUNDLE/programs runs natively (twice: the program itself must be
#      deterministic) with the real CUDA runtime (LD_LIBRARY_PATH=$CUDA_LIB);
#   2. one vgpud starts with a generated config (tenant "gpu-test" on GPU 0, local socket);
#   3. every program runs again through vgpu (LD_LIBRARY_PATH=BUNDLE/shim:BUNDLE/lib, so
#      libcudart.so.13 is the shim; checked once with ldd); stdout and exit code must equal the
#      native ones exactly;
#   4. after kernel_fault, vgpud must still be alive and vector_add must pass again;
#   5. matmul_tiled and streams_events_overlap run at the same time on the same tenant;
#   6. the cuda-samples in BUNDLE/samples (if any) run natively and through vgpu, compared after
#      filtering the lines that legitimately differ (timings only; see filter_sample);
#   7. vgpud must still be running; SIGTERM must stop it with exit code 0 within 10 s;
#   8. a debug run: a second vgpud at --log-level debug, trace_malloc with VGPU_LOG=debug, both
#      logs kept (trace-vgpud.log, trace-client.log) to show one call's path through every hop.
#
# Prints a table (program | native | vgpu | match), then "N passed, M failed"; exits 1 if
# anything failed.
#
# Environment:
#   OUT_LOG_DIR   keep logs here: report.txt, vgpud.log, trace-vgpud.log, trace-client.log and
#                 outputs.tar.gz (every run's stdout, stderr, exit code and wall time)
#   CUDA_LIB      the real CUDA runtime's folder (default /usr/local/cuda/lib64)
#   RUN_TIMEOUT   seconds per program run (default 120)
#   TOTAL_BUDGET  seconds for the whole script (default: none); runs that would start too late are
#                 reported as skipped. Use it under an outer limit (the device runner's 600 s).
#   PROGRAMS      space-separated subset of program names to run (default: all)
#   NATIVE_TWICE  1 (default) runs each program twice natively to prove it deterministic; 0 once
#   KEEP_WORK     1 keeps the temporary work folder
#   VGPUD_DRIVER  vgpud.driver in the generated config (default libcuda.so.1; a dry run of this
#                 script on a machine without a GPU can point it at test/fake-cuda's library)
set -euo pipefail

if [[ $# -ne 1 ]]; then
  echo "usage: $0 BUNDLE_DIR" >&2
  exit 2
fi
BUNDLE=$(cd "$1" && pwd)
CUDA_LIB=${CUDA_LIB:-/usr/local/cuda/lib64}
RUN_TIMEOUT=${RUN_TIMEOUT:-120}
NATIVE_TWICE=${NATIVE_TWICE:-1}
# With TOTAL_BUDGET, program runs stop (and are reported as skipped) 25 s before it is spent, so
# that vgpud's stop, the debug run and the table still happen inside an outer time limit.
DEADLINE=""
[[ -n "${TOTAL_BUDGET:-}" ]] && DEADLINE=$((SECONDS + TOTAL_BUDGET - 25))
VGPUD_DRIVER=${VGPUD_DRIVER:-libcuda.so.1}
TENANT=gpu-test

LOG_TAG=run.sh
# setup_work, log, run_prog(_hidden), start_vgpud, stop_vgpud, record, rc_cell, compare;
# also compare.sh's filter_sample.
# shellcheck source=test/gpu/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# WORK, LOGDIR, OUTS (packed into LOGDIR/outputs.tar.gz at exit), and the clean-up at exit. Every
# run's stdout/stderr/exit code/wall time goes to OUTS/<mode>/.
setup_work vgpu-gpu-test
mkdir -p "$OUTS/native" "$OUTS/native2" "$OUTS/vgpu"

SHIM_LDPATH="$BUNDLE/shim:$BUNDLE/lib"
NATIVE_LDPATH="$CUDA_LIB"

# The main (or debug) vgpud's tenant socket, for the runs through vgpu.
VGPUD_SOCK=""

# run_mode OUTPREFIX MODE(native|native-hidden|vgpu) BINARY [ENV=VALUE...]: run_prog with the
# real runtime (native*) or the shim on VGPUD_SOCK (vgpu). Every mode but native runs with the
# driver hidden, as in a guest (run_prog_hidden: hide-driver.sh).
run_mode() {
  local prefix=$1 mode=$2 bin=$3
  shift 3
  local -a envs
  if [[ "$mode" == native* ]]; then
    envs=(-u VGPU_SOCKET -u VGPU_LOG "LD_LIBRARY_PATH=$NATIVE_LDPATH")
  else
    envs=("LD_LIBRARY_PATH=$SHIM_LDPATH" "VGPU_SOCKET=$VGPUD_SOCK")
  fi
  if [[ "$mode" == native ]]; then
    run_prog "$prefix" "$bin" "${envs[@]}" "$@"
  else
    run_prog_hidden "$prefix" "$bin" "${envs[@]}" "$@"
  fi
}

# write_config DIR LEVEL: a vgpu.yaml with one tenant whose socket is DIR/TENANT.sock
write_config() {
  local dir=$1 level=$2
  cat >"$dir/vgpu.yaml" <<EOF
vgpud:
  log_level: $level
  driver: $VGPUD_DRIVER
tenants:
  - name: $TENANT
    gpus: [0]
    local:
      socket: $dir/$TENANT.sock
    limits:
      pinned_memory: 512MiB
      staging_memory: 16MiB
EOF
}

# start_tenant_vgpud DIR LEVEL LOGFILE: writes DIR/vgpu.yaml and starts vgpud on it at LEVEL;
# sets VGPUD_PID/VGPUD_SOCK; waits (bounded) for the socket. Returns 1 if it does not come up.
# vgpud inherits CUDA_VISIBLE_DEVICES, as the native runs do, so that GPU 0 is the same GPU.
start_tenant_vgpud() {
  local dir=$1 level=$2 logfile=$3
  mkdir -p "$dir"
  chmod 0755 "$dir"
  write_config "$dir" "$level"
  VGPUD_SOCK="$dir/$TENANT.sock"
  start_vgpud --log-level "$level" --keep-cuda-visible-devices "$dir/vgpu.yaml" "$logfile" \
    "$VGPUD_SOCK"
}

# ensure_vgpud: if the main vgpud died, note it and start a fresh one so that later tests still
# tell something.
RESTARTS=0
ensure_vgpud() {
  local after=$1
  if [[ -n "$VGPUD_PID" ]] && is_alive "$VGPUD_PID"; then
    return 0
  fi
  local rc=0
  wait "$VGPUD_PID" 2>/dev/null || rc=$?
  record "vgpud alive after $after" "" "-" "died(rc=$rc)" "-" 0 "vgpud exited; see vgpud.log"
  RESTARTS=$((RESTARTS + 1))
  start_tenant_vgpud "$WORK/vgpud" info "$LOGDIR/vgpud.log" || return 1
}

# ---- 0. preconditions ---------------------------------------------------------------------------
for f in "$BUNDLE/bin/vgpud" "$BUNDLE/shim/libcudart.so.13" "$CUDA_LIB/libcudart.so.13"; do
  [[ -e "$f" ]] || { echo "error: $f is missing" >&2; exit 1; }
done
if command -v nvidia-smi >/dev/null; then
  log "GPU: $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null | head -1)"
fi
[[ $(id -u) == 0 ]] || log "warning: not running as root"

declare -a PROGS=()
if [[ -n "${PROGRAMS:-}" ]]; then
  for p in $PROGRAMS; do
    [[ -x "$BUNDLE/programs/$p" ]] || { echo "error: no program $p in $BUNDLE/programs" >&2; exit 1; }
    PROGS+=("$p")
  done
else
  while IFS= read -r p; do PROGS+=("$p"); done < <(find "$BUNDLE/programs" -maxdepth 1 -type f -perm -u+x -printf '%f\n' | sort)
fi
[[ ${#PROGS[@]} -gt 0 ]] || { echo "error: no programs in $BUNDLE/programs" >&2; exit 1; }
has_prog() {
  local p
  for p in "${PROGS[@]}"; do [[ "$p" == "$1" ]] && return 0; done
  return 1
}

declare -a SAMPLES=()
if [[ -d "$BUNDLE/samples" ]]; then
  while IFS= read -r p; do SAMPLES+=("$p"); done < <(find "$BUNDLE/samples" -maxdepth 1 -type f -perm -u+x -printf '%f\n' | sort)
fi
log "${#PROGS[@]} programs, ${#SAMPLES[@]} samples, logs in $LOGDIR"

# ---- 1. native runs -----------------------------------------------------------------------------
for p in "${PROGS[@]}"; do
  run_mode "$OUTS/native/$p" native "$BUNDLE/programs/$p"
  log "native $p: rc=$(cat "$OUTS/native/$p.rc")"
  if [[ "$NATIVE_TWICE" == 1 ]]; then
    run_mode "$OUTS/native2/$p" native "$BUNDLE/programs/$p"
    if ! cmp -s "$OUTS/native/$p.out" "$OUTS/native2/$p.out" ||
      ! cmp -s "$OUTS/native/$p.rc" "$OUTS/native2/$p.rc"; then
      record "$p (native deterministic)" "" "differs" "-" "no" 0 \
        "two native runs differ: $(diff "$OUTS/native/$p.out" "$OUTS/native2/$p.out" | head -10)"
    fi
  fi
done
for s in "${SAMPLES[@]}"; do
  run_mode "$OUTS/native/sample-$s" native "$BUNDLE/samples/$s"
  log "native sample $s: rc=$(cat "$OUTS/native/sample-$s.rc")"
done

# ---- 2. the shim is the runtime the programs load ------------------------------------------------
shim_real=$(readlink -f "$BUNDLE/shim/libcudart.so.13")
probe=${PROGS[0]}
resolved=$(LD_LIBRARY_PATH="$SHIM_LDPATH" ldd "$BUNDLE/programs/$probe" | awk '$1 == "libcudart.so.13" {print $3}')
if [[ -n "$resolved" && "$(readlink -f "$resolved")" == "$shim_real" ]]; then
  record "ldd: libcudart.so.13 -> shim" "" "-" "$resolved" "yes" 1
else
  record "ldd: libcudart.so.13 -> shim" "" "-" "${resolved:-unresolved}" "no" 0 \
    "$probe resolves libcudart.so.13 to '${resolved:-nothing}', not $shim_real"
fi
native_resolved=$(LD_LIBRARY_PATH="$NATIVE_LDPATH" ldd "$BUNDLE/programs/$probe" | awk '$1 == "libcudart.so.13" {print $3}')
log "natively $probe loads libcudart.so.13 from ${native_resolved:-nothing}"
if LD_LIBRARY_PATH="$BUNDLE/lib" ldd "$BUNDLE/bin/vgpud" | grep -q "not found"; then
  record "ldd: vgpud libraries" "" "-" "missing" "no" 0 \
    "$(LD_LIBRARY_PATH="$BUNDLE/lib" ldd "$BUNDLE/bin/vgpud" | grep "not found")"
fi

# The driver is really hidden from the vgpu runs: the real runtime finds no GPU there.
run_mode "$OUTS/native/hidden-$probe" native-hidden "$BUNDLE/programs/$probe"
hidden_rc=$(cat "$OUTS/native/hidden-$probe.rc")
if [[ "$hidden_rc" != 0 ]]; then
  record "native $probe, driver hidden, fails" "" "rc=$hidden_rc" "-" "yes" 1
else
  record "native $probe, driver hidden, fails" "" "rc=0" "-" "no" 0 \
    "$probe ran on the real runtime with the driver hidden: hide-driver.sh hides nothing"
fi

# ---- 3. vgpud and the runs through vgpu ----------------------------------------------------------
MAIN_LOG="$LOGDIR/vgpud.log"
: >"$MAIN_LOG"
if ! start_tenant_vgpud "$WORK/vgpud" info "$MAIN_LOG"; then
  record "vgpud start" "" "-" "failed" "-" 0 "vgpud did not start; see $MAIN_LOG"
  for p in "${PROGS[@]}"; do
    record "$p" "" "$(rc_cell "$(cat "$OUTS/native/$p.rc")")" "not run" "-" 0
  done
  for s in "${SAMPLES[@]}"; do
    record "sample: $s" "" "$(rc_cell "$(cat "$OUTS/native/sample-$s.rc")")" "not run" "-" 0
  done
else
  record "vgpud start" "" "-" "socket up" "-" 1
  for p in "${PROGS[@]}"; do
    ensure_vgpud "before $p" || break
    run_mode "$OUTS/vgpu/$p" vgpu "$BUNDLE/programs/$p"
    compare "$p" "" "$OUTS/native/$p" "$OUTS/vgpu/$p"
    if [[ "$p" == kernel_fault ]]; then
      # 4. a faulting tenant program must not take vgpud down, and the next program must work.
      if is_alive "$VGPUD_PID"; then
        record "vgpud alive after kernel_fault" "" "-" "alive" "-" 1
      else
        ensure_vgpud "kernel_fault" || break
      fi
      if has_prog vector_add; then
        run_mode "$OUTS/vgpu/vector_add.after_fault" vgpu "$BUNDLE/programs/vector_add"
        compare "vector_add (after kernel_fault)" "" "$OUTS/native/vector_add" \
          "$OUTS/vgpu/vector_add.after_fault"
      fi
    fi
  done

  # 5. two programs at once on the same tenant.
  if has_prog matmul_tiled && has_prog streams_events_overlap && ensure_vgpud "the single runs"; then
    run_mode "$OUTS/vgpu/matmul_tiled.concurrent" vgpu "$BUNDLE/programs/matmul_tiled" &
    c1=$!
    run_mode "$OUTS/vgpu/streams_events_overlap.concurrent" vgpu "$BUNDLE/programs/streams_events_overlap" &
    c2=$!
    wait "$c1" || true
    wait "$c2" || true
    compare "matmul_tiled (concurrent)" "" "$OUTS/native/matmul_tiled" \
      "$OUTS/vgpu/matmul_tiled.concurrent"
    compare "streams_events_overlap (concurrent)" "" "$OUTS/native/streams_events_overlap" \
      "$OUTS/vgpu/streams_events_overlap.concurrent"
  fi

  # 6. cuda-samples.
  for s in "${SAMPLES[@]}"; do
    ensure_vgpud "before sample $s" || break
    run_mode "$OUTS/vgpu/sample-$s" vgpu "$BUNDLE/samples/$s"
    compare "sample: $s" "" "$OUTS/native/sample-$s" "$OUTS/vgpu/sample-$s" sample
  done

  # 7. still running at the end; clean stop on SIGTERM.
  if is_alive "$VGPUD_PID"; then
    record "vgpud alive at end" "" "-" "alive" "-" 1
    stop_vgpud "$VGPUD_PID"
    if [[ "$STOP_RC" == 0 ]]; then
      record "vgpud SIGTERM -> exit 0 within 10 s" "" "-" "rc=0" "-" 1
    else
      record "vgpud SIGTERM -> exit 0 within 10 s" "" "-" "rc=$STOP_RC" "-" 0 \
        "vgpud stop gave '$STOP_RC'; see $MAIN_LOG"
    fi
  else
    record "vgpud alive at end" "" "-" "dead" "-" 0 "vgpud was not running at the end; see $MAIN_LOG"
  fi
fi
# Whatever happened above, no main vgpud may outlive this point (the debug one comes next).
if [[ -n "$VGPUD_PID" ]] && is_alive "$VGPUD_PID"; then
  stop_vgpud "$VGPUD_PID"
fi

# ---- 8. debug trace run --------------------------------------------------------------------------
trace_prog=trace_malloc
[[ -x "$BUNDLE/programs/$trace_prog" ]] || trace_prog=vector_add
TRACE_VGPUD_LOG="$LOGDIR/trace-vgpud.log"
TRACE_CLIENT_LOG="$LOGDIR/trace-client.log"
: >"$TRACE_VGPUD_LOG"
if [[ ! -f "$OUTS/native/$trace_prog.rc" ]]; then
  run_mode "$OUTS/native/$trace_prog" native "$BUNDLE/programs/$trace_prog"
fi
if start_tenant_vgpud "$WORK/vgpud-debug" debug "$TRACE_VGPUD_LOG"; then
  run_mode "$OUTS/vgpu/$trace_prog.debug" vgpu "$BUNDLE/programs/$trace_prog" VGPU_LOG=debug
  cp "$OUTS/vgpu/$trace_prog.debug.err" "$TRACE_CLIENT_LOG"
  compare "$trace_prog (debug logging)" "" "$OUTS/native/$trace_prog" \
    "$OUTS/vgpu/$trace_prog.debug"
  stop_vgpud "$VGPUD_PID"
  [[ "$STOP_RC" == 0 ]] || record "debug vgpud SIGTERM -> exit 0" "" "-" "rc=$STOP_RC" "-" 0 "see $TRACE_VGPUD_LOG"
  log "trace logs: $TRACE_CLIENT_LOG ($(wc -l <"$TRACE_CLIENT_LOG") lines), $TRACE_VGPUD_LOG ($(wc -l <"$TRACE_VGPUD_LOG") lines)"
else
  record "$trace_prog (debug logging)" "" "-" "vgpud start failed" "-" 0 "see $TRACE_VGPUD_LOG"
fi

# ---- report -------------------------------------------------------------------------------------
report() {
w=8
for n in "${R_NAME[@]}"; do ((${#n} > w)) && w=${#n}; done
printf "%-${w}s | %-14s | %-22s | %s\n" program native vgpu match
printf '%*s\n' $((w + 50)) '' | tr ' ' '-'
for i in "${!R_NAME[@]}"; do
  printf "%-${w}s | %-14s | %-22s | %s\n" "${R_NAME[$i]}" "${R_NATIVE[$i]}" "${R_VGPU[$i]}" "${R_MATCH[$i]}"
done
echo
if [[ ${#DETAILS[@]} -gt 0 ]]; then
  echo "failures:"
  printf '%s\n\n' "${DETAILS[@]}"
fi
[[ $RESTARTS -gt 0 ]] && echo "vgpud was restarted $RESTARTS time(s) after dying"
echo "logs: $LOGDIR (report.txt, vgpud.log, trace-vgpud.log, trace-client.log, outputs.tar.gz)"
echo "$PASSED passed, $FAILED failed"
}
echo
report | tee "$LOGDIR/report.txt"
[[ $FAILED -eq 0 ]]
