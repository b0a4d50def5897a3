#!/usr/bin/env bash
# run-multi.sh BUNDLE_DIR
#
# Runs on the GPU machine (as root), on a bundle made by test/gpu/make-bundle.sh. Proves the
# multi-GPU behaviour of vgpu on whatever GPUs the machine has (one, or two and more):
#
#   1. the GPUs: multi_gpu natively without CUDA_VISIBLE_DEVICES gives their number and UUIDs in
#      CUDA's order (the order vgpud's indices follow);
#   2. a config with four tenants, each on its own local socket:
#        solo-a    gpus: [0]            GPU 0 by index
#        solo-b    gpus: ["GPU-..."]    GPU 1 by UUID (GPU 0 on a machine with one GPU)
#        both      gpus: [0, 1]         only with two GPUs or more
#        reversed  gpus: [1, 0]         only with two GPUs or more
#   3. native runs: multi_gpu with CUDA_VISIBLE_DEVICES=0, =1 (=0 on one GPU), =0,1 and =1,0
#      (twice, to prove it deterministic), and every other program on GPU 0 and on GPU 1;
#   4. one vgpud serving all tenants (the programs load the shim: checked once with ldd);
#   5. multi_gpu through each tenant must print exactly what it prints natively on the same GPUs
#      and exit the same way; the UUIDs the guest saw must be the configured GPUs, in order;
#   6. concurrency: every other program of the bundle (not multi_gpu, kernel_fault, busy_kernel)
#      runs in solo-a and in solo-b at the same time, two loops, each compared with its native
#      run on the matching GPU;
#   7. isolation in time: a short program (reduction_atomics) timed in solo-b while solo-a runs
#      busy_kernel (3 s on every SM), and timed with solo-a idle; both times and their ratio are
#      printed as information, nothing is asserted on them (on one GPU both tenants share it);
#   8. vgpud must still be running; SIGTERM must stop it with exit code 0 within 10 s.
#
# Prints the runs (check | tenant | native | vgpu | match), then a table per tenant (tenant | GPUs
# in config | what the guest saw | runs | match, as passed/runs), then "N passed, M failed";
# exits 1 if anything failed.
#
# Environment:
#   OUT_LOG_DIR   keep logs here: report.txt, vgpud.log, vgpu.yaml and outputs.tar.gz (every run's
#                 stdout, stderr, exit code and wall time)
#   CUDA_LIB      the real CUDA runtime's folder (default /usr/local/cuda/lib64)
#   RUN_TIMEOUT   seconds per program run (default 120)
#   TOTAL_BUDGET  seconds for the whole script (default: none); runs that would start too late are
#                 reported as skipped. Use it under an outer limit (the device runner's 600 s).
#   PROGRAMS      space-separated subset of the programs for the concurrency part (default: all)
#   NATIVE_TWICE  1 (default) runs multi_gpu twice natively per GPU set, to prove it
#                 deterministic; 0 once
#   KEEP_WORK     1 keeps the temporary work folder
#   VGPUD_DRIVER  vgpud.driver in the generated config (default libcuda.so.1; a dry run without a
#                 GPU can point it at test/fake-cuda's library, with FAKE_CUDA_DEVICE_COUNT=2)
#   SHORT_PROG    the program timed in part 7 (default reduction_atomics)
#   GPU_UUIDS     space-separated UUIDs in CUDA order, used only when neither the native run nor
#                 nvidia-smi can tell which GPUs there are (the dry run with the fake driver)
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
# that vgpud's stop and the tables still happen inside an outer time limit.
DEADLINE=""
[[ -n "${TOTAL_BUDGET:-}" ]] && DEADLINE=$((SECONDS + TOTAL_BUDGET - 25))
VGPUD_DRIVER=${VGPUD_DRIVER:-libcuda.so.1}
LOG_TAG=run-multi.sh
# The timed short program: mostly GPU work, and short enough to end inside busy_kernel's 3 s. On
# one H100 shared by both tenants it took 1.3 s alone and 2.4 s beside busy_kernel through vgpu;
# vector_add and matmul_tiled hardly changed (their time is mostly process and context start-up),
# so they would show nothing either way.
SHORT_PROG=${SHORT_PROG:-reduction_atomics}
BUSY_PROG=busy_kernel

# shellcheck source=test/gpu/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# WORK, LOGDIR, OUTS (packed into LOGDIR/outputs.tar.gz at exit), and the clean-up at exit. Every
# run's files go to OUTS/<where>/; WORK/vgpud holds the config and the tenants' sockets.
setup_work vgpu-multi
mkdir -p "$WORK/vgpud"

# run_native OUTPREFIX PROGRAM CUDA_VISIBLE_DEVICES ("" for none): the real runtime.
run_native() {
  # (env takes its -u options before the first NAME=VALUE.)
  local -a envs=(-u VGPU_SOCKET -u VGPU_LOG -u CUDA_VISIBLE_DEVICES "LD_LIBRARY_PATH=$CUDA_LIB")
  [[ -n "$3" ]] && envs+=("CUDA_VISIBLE_DEVICES=$3")
  mkdir -p "$(dirname "$1")"
  run_prog "$1" "$BUNDLE/programs/$2" "${envs[@]}"
}

# run_vgpu OUTPREFIX PROGRAM TENANT: the shim, on TENANT's socket. The guest sees what the tenant
# is given, so CUDA_VISIBLE_DEVICES is not passed on.
run_vgpu() {
  mkdir -p "$(dirname "$1")"
  run_prog "$1" "$BUNDLE/programs/$2" -u CUDA_VISIBLE_DEVICES -u VGPU_LOG \
    "LD_LIBRARY_PATH=$BUNDLE/shim:$BUNDLE/lib" "VGPU_SOCKET=$WORK/vgpud/$3.sock"
}

# uuids_in FILE: the UUIDs of multi_gpu's "device N ... uuid=GPU-..." lines, in order.
uuids_in() {
  sed -nE 's/^device [0-9]+ name=.* uuid=(GPU-[0-9a-fA-F-]+)$/\1/p' "$1"
}

# ---- 0. preconditions ----------------------------------------------------------------------------
for f in "$BUNDLE/bin/vgpud" "$BUNDLE/shim/libcudart.so.13" "$CUDA_LIB/libcudart.so.13" \
  "$BUNDLE/programs/multi_gpu"; do
  [[ -e "$f" ]] || { echo "error: $f is missing" >&2; exit 1; }
done
[[ $(id -u) == 0 ]] || log "warning: not running as root"

# The programs for the concurrency part: all but multi_gpu (run in every tenant), kernel_fault
# (a fault is not what this proves; run.sh covers it) and busy_kernel (the timing part's job).
declare -a PROGS=()
if [[ -n "${PROGRAMS:-}" ]]; then
  for p in $PROGRAMS; do
    [[ -x "$BUNDLE/programs/$p" ]] ||
      { echo "error: no program $p in $BUNDLE/programs" >&2; exit 1; }
    PROGS+=("$p")
  done
else
  while IFS= read -r p; do
    case "$p" in multi_gpu | kernel_fault | "$BUSY_PROG") continue ;; esac
    PROGS+=("$p")
  done < <(find "$BUNDLE/programs" -maxdepth 1 -type f -perm -u+x -printf '%f\n' | sort)
fi

# ---- 1. which GPUs, in CUDA's order --------------------------------------------------------------
declare -a UUIDS=()
run_native "$OUTS/native/multi_gpu.all" multi_gpu ""
while IFS= read -r u; do UUIDS+=("$u"); done < <(uuids_in "$OUTS/native/multi_gpu.all.out")
GPU_SOURCE="multi_gpu natively (CUDA order)"
SMI=""
if command -v nvidia-smi >/dev/null; then
  SMI=$(nvidia-smi -L 2>/dev/null || true)
  log "nvidia-smi -L:"
  printf '%s\n' "$SMI" | sed 's/^/    /'
fi
if [[ ${#UUIDS[@]} -eq 0 && -n "$SMI" ]]; then
  # nvidia-smi lists by PCI bus; CUDA's default order can differ (fastest first), but this is
  # only the fallback when the native run could not tell.
  while IFS= read -r u; do UUIDS+=("$u"); done < <(grep -oE 'GPU-[0-9a-fA-F-]{36}' <<<"$SMI")
  GPU_SOURCE="nvidia-smi -L (native multi_gpu gave none)"
fi
if [[ ${#UUIDS[@]} -eq 0 && -n "${GPU_UUIDS:-}" ]]; then
  read -r -a UUIDS <<<"$GPU_UUIDS"
  GPU_SOURCE="GPU_UUIDS (no native run, no nvidia-smi)"
fi
if [[ ${#UUIDS[@]} -eq 0 ]]; then
  echo "error: cannot tell which GPUs this machine has (native multi_gpu:" \
    "rc=$(cat "$OUTS/native/multi_gpu.all.rc"), no nvidia-smi, no GPU_UUIDS); native stderr:" >&2
  tail -n 5 "$OUTS/native/multi_gpu.all.err" >&2
  exit 1
fi
NGPU=${#UUIDS[@]}
log "$NGPU GPU(s), from $GPU_SOURCE:"
for i in "${!UUIDS[@]}"; do log "  GPU $i = ${UUIDS[$i]}"; done
if [[ -n "$SMI" ]]; then
  for i in "${!UUIDS[@]}"; do
    grep -qi "${UUIDS[$i]}" <<<"$SMI" || log "warning: ${UUIDS[$i]} is not in nvidia-smi -L"
  done
fi

# phys_of UUID: the host index of a UUID ("?" if unknown).
phys_of() {
  local i
  for i in "${!UUIDS[@]}"; do
    [[ "${UUIDS[$i],,}" == "${1,,}" ]] && { echo "$i"; return; }
  done
  echo "?"
}

# ---- 2. the tenants ------------------------------------------------------------------------------
# For each tenant: its gpus: entry, a description for the table, the CUDA_VISIBLE_DEVICES that
# shows a native program the same GPUs in the same order, and the UUIDs the guest must see.
# solo-b names its GPU by UUID, to prove that form; on one GPU it is GPU 0 again.
B=1
((NGPU >= 2)) || B=0
declare -a TENANTS=(solo-a solo-b)
declare -A T_YAML=() T_DESC=() T_CVD=() T_WANT=()
T_YAML[solo-a]="[0]"
T_DESC[solo-a]="[0]"
T_CVD[solo-a]=0
T_WANT[solo-a]=${UUIDS[0]}
T_YAML[solo-b]="[\"${UUIDS[$B]}\"]"
T_DESC[solo-b]="[${UUIDS[$B]}] (= $B)"
T_CVD[solo-b]=$B
T_WANT[solo-b]=${UUIDS[$B]}
if ((NGPU >= 2)); then
  TENANTS+=(both reversed)
  T_YAML[both]="[0, 1]"
  T_DESC[both]="[0, 1]"
  T_CVD[both]="0,1"
  T_WANT[both]="${UUIDS[0]} ${UUIDS[1]}"
  T_YAML[reversed]="[1, 0]"
  T_DESC[reversed]="[1, 0]"
  T_CVD[reversed]="1,0"
  T_WANT[reversed]="${UUIDS[1]} ${UUIDS[0]}"
fi

CONFIG=$WORK/vgpud/vgpu.yaml
{
  cat <<EOF
vgpud:
  log_level: info
  driver: $VGPUD_DRIVER
  # Its own control socket, so that a vgpud installed on this machine is left alone.
  control_socket: $WORK/vgpud/control.sock
tenants:
EOF
  for t in "${TENANTS[@]}"; do
    cat <<EOF
  - name: $t
    gpus: ${T_YAML[$t]}
    local:
      socket: $WORK/vgpud/$t.sock
    limits:
      pinned_memory: 512MiB
      staging_memory: 16MiB
EOF
  done
} >"$CONFIG"
cp "$CONFIG" "$LOGDIR/vgpu.yaml"
log "config:"
sed 's/^/    /' "$CONFIG"

# ---- 3. native runs ------------------------------------------------------------------------------
# multi_gpu with each tenant's GPUs (runs for tenants with the same GPUs are shared).
declare -A NATIVE_MG=()
for t in "${TENANTS[@]}"; do
  cvd=${T_CVD[$t]}
  key=cvd-${cvd//,/_}
  NATIVE_MG[$t]=$OUTS/native/multi_gpu.$key
  [[ -f "${NATIVE_MG[$t]}.rc" ]] && continue
  run_native "${NATIVE_MG[$t]}" multi_gpu "$cvd"
  log "native multi_gpu CUDA_VISIBLE_DEVICES=$cvd: rc=$(cat "${NATIVE_MG[$t]}.rc")"
  if [[ "$NATIVE_TWICE" == 1 ]]; then
    run_native "${NATIVE_MG[$t]}.2" multi_gpu "$cvd"
    if ! cmp -s "${NATIVE_MG[$t]}.out" "${NATIVE_MG[$t]}.2.out" ||
      ! cmp -s "${NATIVE_MG[$t]}.rc" "${NATIVE_MG[$t]}.2.rc"; then
      record "multi_gpu CUDA_VISIBLE_DEVICES=$cvd (native deterministic)" native \
        "differs" "-" "no" 0 \
        "two native runs differ: $(diff "${NATIVE_MG[$t]}.out" "${NATIVE_MG[$t]}.2.out" | head -10)"
    fi
  fi
done
# Every program on GPU 0 and on GPU B (the GPUs of solo-a and solo-b).
for g in $(printf '%s\n' 0 "$B" | sort -u); do
  for p in "${PROGS[@]}" "$SHORT_PROG" "$BUSY_PROG"; do
    [[ -x "$BUNDLE/programs/$p" && ! -f "$OUTS/native/gpu$g/$p.rc" ]] || continue
    [[ "$p" == "$BUSY_PROG" && "$g" != 0 ]] && continue  # busy_kernel runs in solo-a only
    run_native "$OUTS/native/gpu$g/$p" "$p" "$g"
    log "native $p on GPU $g: rc=$(cat "$OUTS/native/gpu$g/$p.rc")"
  done
done

# ---- 4. vgpud ------------------------------------------------------------------------------------
MAIN_LOG=$LOGDIR/vgpud.log
: >"$MAIN_LOG"
declare -a SOCKETS=()
for t in "${TENANTS[@]}"; do SOCKETS+=("$WORK/vgpud/$t.sock"); done
RESTARTS=0
# ensure_vgpud WHEN: if vgpud died, note it and start a fresh one so that later parts still tell
# something.
ensure_vgpud() {
  if [[ -n "$VGPUD_PID" ]] && is_alive "$VGPUD_PID"; then
    return 0
  fi
  local rc=0
  wait "$VGPUD_PID" 2>/dev/null || rc=$?
  record "vgpud alive $1" - "-" "died(rc=$rc)" "-" 0 "vgpud exited; see vgpud.log"
  RESTARTS=$((RESTARTS + 1))
  start_vgpud "$CONFIG" "$MAIN_LOG" "${SOCKETS[@]}"
}

# What each tenant's guest saw ("not run" until multi_gpu ran there).
declare -A SAW=()
for t in "${TENANTS[@]}"; do SAW[$t]="not run"; done
if ! start_vgpud "$CONFIG" "$MAIN_LOG" "${SOCKETS[@]}"; then
  record "vgpud start" - "-" "failed" "-" 0 "vgpud did not start; see vgpud.log"
else
  record "vgpud start (${#TENANTS[@]} tenants)" - "-" "sockets up" "-" 1

  # The programs really load the shim.
  shim_real=$(readlink -f "$BUNDLE/shim/libcudart.so.13")
  resolved=$(LD_LIBRARY_PATH="$BUNDLE/shim:$BUNDLE/lib" ldd "$BUNDLE/programs/multi_gpu" |
    awk '$1 == "libcudart.so.13" {print $3}')
  if [[ -n "$resolved" && "$(readlink -f "$resolved")" == "$shim_real" ]]; then
    record "ldd: libcudart.so.13 -> shim" - "-" "$resolved" "yes" 1
  else
    record "ldd: libcudart.so.13 -> shim" - "-" "${resolved:-unresolved}" "no" 0 \
      "multi_gpu resolves libcudart.so.13 to '${resolved:-nothing}', not $shim_real"
  fi

  # ---- 5. multi_gpu in every tenant --------------------------------------------------------------
  for t in "${TENANTS[@]}"; do
    ensure_vgpud "before multi_gpu in $t" || break
    run_vgpu "$OUTS/vgpu/$t/multi_gpu" multi_gpu "$t"
    compare "multi_gpu vs CUDA_VISIBLE_DEVICES=${T_CVD[$t]}" "$t" "${NATIVE_MG[$t]}" \
      "$OUTS/vgpu/$t/multi_gpu"
    # What the guest saw, for the table; and it must be the configured GPUs, in order.
    saw=$(uuids_in "$OUTS/vgpu/$t/multi_gpu.out" | tr '\n' ' ')
    saw=${saw% }
    count=$(sed -n 's/^device_count=//p' "$OUTS/vgpu/$t/multi_gpu.out")
    cells=""
    for u in $saw; do cells+="${cells:+, }$u (host $(phys_of "$u"))"; done
    SAW[$t]="${count:-?}: ${cells:-none}"
    if [[ "${saw,,}" == "${T_WANT[$t],,}" ]]; then
      record "guest GPUs = config" "$t" "-" "${count:-?} GPU(s)" "yes" 1
    else
      record "guest GPUs = config" "$t" "-" "${count:-?} GPU(s)" "no" 0 \
        "the guest saw '${saw:-nothing}', the config gives '${T_WANT[$t]}'"
    fi
  done

  # ---- 6. solo-a and solo-b at the same time -----------------------------------------------------
  # conc_loop TENANT: every program, one after the other, in TENANT.
  conc_loop() {
    local p
    for p in "${PROGS[@]}"; do run_vgpu "$OUTS/vgpu/$1/$p" "$p" "$1"; done
  }
  if ensure_vgpud "before the concurrent runs"; then
    start=$(now_ms)
    conc_loop solo-a &
    ca=$!
    conc_loop solo-b &
    cb=$!
    wait "$ca" || true
    wait "$cb" || true
    log "concurrent loops (${#PROGS[@]} programs in each of solo-a and solo-b):" \
      "$(($(now_ms) - start)) ms"
    for p in "${PROGS[@]}"; do
      compare "$p (concurrent)" solo-a "$OUTS/native/gpu0/$p" "$OUTS/vgpu/solo-a/$p"
      compare "$p (concurrent)" solo-b "$OUTS/native/gpu$B/$p" "$OUTS/vgpu/solo-b/$p"
    done
  fi

  # ---- 7. a long job in solo-a, a short one timed in solo-b --------------------------------------
  TIMING=""
  if [[ ! -x "$BUNDLE/programs/$BUSY_PROG" || ! -x "$BUNDLE/programs/$SHORT_PROG" ]]; then
    TIMING="timing: skipped ($BUSY_PROG or $SHORT_PROG is not in the bundle)"
  elif ensure_vgpud "before the timing runs"; then
    T=$OUTS/vgpu/timing
    # The first run warms caches (files, vgpud's first worker) so that both timed runs start alike.
    run_vgpu "$T/warmup" "$SHORT_PROG" solo-b
    run_vgpu "$T/idle" "$SHORT_PROG" solo-b
    run_vgpu "$T/busy_job" "$BUSY_PROG" solo-a &
    bj=$!
    # Start timing only when the long kernel has been launched (busy_kernel says so at once).
    for ((i = 0; i < 300; i++)); do
      grep -q '^busy_kernel: launched$' "$T/busy_job.out" 2>/dev/null && break
      is_alive "$bj" || break
      sleep 0.1
    done
    run_vgpu "$T/during_busy" "$SHORT_PROG" solo-b
    still=no
    is_alive "$bj" && still=yes
    wait "$bj" || true
    short_native=$OUTS/native/gpu$B/$SHORT_PROG
    compare "$SHORT_PROG (timing warm-up)" solo-b "$short_native" "$T/warmup"
    compare "$SHORT_PROG (solo-a idle)" solo-b "$short_native" "$T/idle"
    compare "$SHORT_PROG (while solo-a busy)" solo-b "$short_native" "$T/during_busy"
    compare "$BUSY_PROG (long job)" solo-a "$OUTS/native/gpu0/$BUSY_PROG" "$T/busy_job"
    idle_ms=$(cat "$T/idle.ms")
    busy_ms=$(cat "$T/during_busy.ms")
    ratio=$(awk -v a="$busy_ms" -v b="$idle_ms" \
      'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }')
    where="both on GPU 0, shared"
    ((NGPU >= 2)) && where="solo-a on GPU 0, solo-b on GPU $B"
    TIMING="timing ($where): $SHORT_PROG in solo-b took $idle_ms ms with solo-a idle,"
    TIMING+=" $busy_ms ms while solo-a ran $BUSY_PROG; ratio $ratio;"
    TIMING+=" $BUSY_PROG still running when the timed run ended: $still"
    log "$TIMING"
  fi

  # ---- 8. still running at the end; clean stop on SIGTERM ----------------------------------------
  if is_alive "$VGPUD_PID"; then
    record "vgpud alive at end" - "-" "alive" "-" 1
    stop_vgpud "$VGPUD_PID"
    if [[ "$STOP_RC" == 0 ]]; then
      record "vgpud SIGTERM -> exit 0 within 10 s" - "-" "rc=0" "-" 1
    else
      record "vgpud SIGTERM -> exit 0 within 10 s" - "-" "rc=$STOP_RC" "-" 0 \
        "vgpud stop gave '$STOP_RC'; see vgpud.log"
    fi
  else
    record "vgpud alive at end" - "-" "dead" "-" 0 "vgpud was not running at the end; see vgpud.log"
  fi
fi

# ---- report --------------------------------------------------------------------------------------
report() {
  local w=5 tw=6 i t runs ok
  for i in "${!R_NAME[@]}"; do
    ((${#R_NAME[$i]} > w)) && w=${#R_NAME[$i]}
    ((${#R_TENANT[$i]} > tw)) && tw=${#R_TENANT[$i]}
  done
  printf "%-${w}s | %-${tw}s | %-14s | %-22s | %s\n" check tenant native vgpu match
  printf '%*s\n' $((w + tw + 52)) '' | tr ' ' '-'
  for i in "${!R_NAME[@]}"; do
    printf "%-${w}s | %-${tw}s | %-14s | %-22s | %s\n" "${R_NAME[$i]}" "${R_TENANT[$i]}" \
      "${R_NATIVE[$i]}" "${R_VGPU[$i]}" "${R_MATCH[$i]}"
  done
  echo
  echo "GPUs ($GPU_SOURCE):"
  for i in "${!UUIDS[@]}"; do echo "  host $i = ${UUIDS[$i]}"; done
  echo
  local gw=14 sw=33
  for t in "${TENANTS[@]}"; do
    ((${#T_DESC[$t]} > gw)) && gw=${#T_DESC[$t]}
    ((${#SAW[$t]} > sw)) && sw=${#SAW[$t]}
  done
  printf "%-8s | %-${gw}s | %-${sw}s | %4s | %s\n" tenant "GPUs in config" \
    "what the guest saw (count: UUIDs)" runs match
  printf '%*s\n' $((gw + sw + 32)) '' | tr ' ' '-'
  for t in "${TENANTS[@]}"; do
    runs=0
    ok=0
    for i in "${!R_TENANT[@]}"; do
      [[ "${R_TENANT[$i]}" == "$t" ]] || continue
      runs=$((runs + 1))
      [[ "${R_PASS[$i]}" == 1 ]] && ok=$((ok + 1))
    done
    printf "%-8s | %-${gw}s | %-${sw}s | %4d | %d/%d\n" "$t" "${T_DESC[$t]}" "${SAW[$t]}" \
      "$runs" "$ok" "$runs"
  done
  echo
  [[ -n "${TIMING:-}" ]] && echo "$TIMING" && echo
  if [[ ${#DETAILS[@]} -gt 0 ]]; then
    echo "failures:"
    printf '%s\n\n' "${DETAILS[@]}"
  fi
  [[ $RESTARTS -gt 0 ]] && echo "vgpud was restarted $RESTARTS time(s) after dying"
  echo "logs: $LOGDIR (report.txt, vgpud.log, vgpu.yaml, outputs.tar.gz)"
  echo "$PASSED passed, $FAILED failed"
}
echo
report | tee "$LOGDIR/report.txt"
[[ $FAILED -eq 0 ]]
