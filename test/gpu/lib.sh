# shellcheck shell=bash
# Sourced by run.sh, run-multi.sh, run-hostile.sh, run-driver.sh and run-jit-cache.sh: the
# helpers they share. Making the work and log folders and cleaning up at exit, listing a bundle
# folder's programs, running a program with a time limit (as is, or with the driver hidden as in
# a guest), starting and stopping vgpud, recording and comparing results. run-vm.sh sources it for log, make_work_dirs
# and list_programs. Sourcing it also sources compare.sh (filter_sample) and sets HIDE_DRIVER
# (the path of hide-driver.sh), VGPUD_PID, STARTED_PIDS, STOP_RC, the R_* result arrays, DETAILS,
# PASSED and FAILED.
#
# The caller sets, before using them:
#   LOG_TAG       prefix of log lines, e.g. run-multi.sh
#   WORK          the temporary work folder (programs run in WORK/cwd): set by setup_work
#   RUN_TIMEOUT   seconds per program run
#   DEADLINE      "" or a value of $SECONDS after which no program run starts (it is "skipped")
#   BUNDLE        the bundle (bin/vgpud, lib/)

LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
HIDE_DRIVER=$LIB_DIR/hide-driver.sh
# filter_sample: the lines of cuda-samples output that legitimately differ (timings).
# shellcheck source=test/gpu/compare.sh
. "$LIB_DIR/compare.sh"

# The driver's JIT cache off, for the native runs and for vgpud alike: a PTX image compiled in
# the native run would otherwise be found in the cache by vgpud's driver, and the run through
# vgpu would lack the compiler's lines in its JIT info log (ptxjit prints them).
export CUDA_CACHE_DISABLE=1

log() { printf '[%s] %s\n' "$LOG_TAG" "$*"; }

# now_ms: wall clock in milliseconds. EPOCHREALTIME's separator follows the locale, so keep digits.
now_ms() {
  local t=${EPOCHREALTIME//[!0-9]/}
  echo $((t / 1000))
}

# ---- the work and log folders --------------------------------------------------------------------
# make_work_dirs NAME: sets WORK to a fresh folder /tmp/NAME.XXXXXX, mode 0755 (mktemp's 0700
# would keep out whatever runs as another user), and LOGDIR to where the logs go: OUT_LOG_DIR,
# made and as an absolute path, when it is set; else WORK/logs, and then KEEP_WORK=1, since
# removing the work folder would remove the logs with it.
make_work_dirs() {
  WORK=$(mktemp -d "/tmp/$1.XXXXXX")
  chmod 0755 "$WORK"
  if [[ -n "${OUT_LOG_DIR:-}" ]]; then
    mkdir -p "$OUT_LOG_DIR"
    LOGDIR=$(cd "$OUT_LOG_DIR" && pwd)
  else
    LOGDIR=$WORK/logs
    mkdir -p "$LOGDIR"
    KEEP_WORK=1
  fi
}

# setup_work NAME: make_work_dirs, then OUTS=WORK/outputs, where every run's stdout, stderr, exit
# code and wall time go, and WORK/cwd, where the programs run. From then on cleanup_work runs at
# exit, and TERM and INT exit (143) through it.
setup_work() {
  make_work_dirs "$1"
  OUTS=$WORK/outputs
  mkdir -p "$OUTS" "$WORK/cwd"
  trap cleanup_work EXIT
  trap 'exit 143' TERM INT
}

# cleanup_work: first the caller's before_cleanup, if it defines one (run-hostile.sh ends its
# clients there); then kills every vgpud start_vgpud started that still runs, packs OUTS into
# LOGDIR/outputs.tar.gz (one file: runners that bring logs back may drop deep folders), and
# removes WORK unless KEEP_WORK is 1.
cleanup_work() {
  if declare -F before_cleanup >/dev/null; then before_cleanup; fi
  kill_started
  tar -czf "$LOGDIR/outputs.tar.gz" -C "$WORK" outputs 2>/dev/null || true
  if [[ "${KEEP_WORK:-0}" == 1 ]]; then
    echo "work folder kept: $WORK"
  else
    rm -rf "$WORK"
  fi
}

# ---- programs ------------------------------------------------------------------------------------
# list_programs DIR [NAMES]: the executables directly in DIR, sorted, one per line; only those
# named in NAMES (separated by spaces or commas) when it is not empty. Nothing when DIR does not
# exist. Companion files (programs-driver's .cubin/.fatbin/.ptx, samples' data) are not
# executable, so they are never listed.
list_programs() {
  local dir=$1 list=${2:-} p
  local names=" ${list//,/ } "
  [[ -d "$dir" ]] || return 0
  while IFS= read -r p; do
    if [[ -z "${names// /}" || "$names" == *" $p "* ]]; then echo "$p"; fi
  done < <(find "$dir" -maxdepth 1 -type f -perm -u+x ! -name '.*' -printf '%f\n' | LC_ALL=C sort)
}

# ---- processes -----------------------------------------------------------------------------------
# is_alive PID: running and not a zombie (a zombie still answers kill -0).
is_alive() {
  local stat state
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  state=${stat##*) }
  state=${state%% *}
  [[ "$state" != Z && "$state" != X ]]
}

# run_prog OUTPREFIX BINARY [ENV ARGUMENT...]: runs BINARY in WORK/cwd (RUN_CWD when set) under `env ARGUMENTS`
# (-u NAME options first, then NAME=VALUE) with a timeout. stdout goes to OUTPREFIX.out, stderr
# to OUTPREFIX.err, the exit code to OUTPREFIX.rc and the wall time in milliseconds to
# OUTPREFIX.ms.
run_prog() { run_prog_wrapped "" "$@"; }

# run_prog_hidden OUTPREFIX BINARY [ENV ARGUMENT...]: run_prog, with the real driver hidden from
# the program as in a guest (under hide-driver.sh; needs root).
run_prog_hidden() { run_prog_wrapped "$HIDE_DRIVER" "$@"; }

# run_prog_wrapped WRAPPER OUTPREFIX BINARY [ENV ARGUMENT...]: run_prog with `WRAPPER env ...`
# ("" for none; the time includes the wrapper's).
run_prog_wrapped() {
  local wrapper=$1 prefix=$2 bin=$3
  shift 3
  local rc=0 t=$RUN_TIMEOUT left start
  local -a wrap=()
  [[ -n "$wrapper" ]] && wrap=("$wrapper")
  if [[ -n "$DEADLINE" ]]; then
    left=$((DEADLINE - SECONDS))
    if ((left < 5)); then
      : >"$prefix.out"
      echo "skipped: TOTAL_BUDGET spent" >"$prefix.err"
      echo skipped >"$prefix.rc"
      echo 0 >"$prefix.ms"
      return 0
    fi
    ((left < t)) && t=$left
  fi
  start=$(now_ms)
  (cd "${RUN_CWD:-$WORK/cwd}" && exec "${wrap[@]}" env "$@" timeout -k 5 "$t" "$bin") \
    >"$prefix.out" 2>"$prefix.err" </dev/null || rc=$?
  echo $(($(now_ms) - start)) >"$prefix.ms"
  echo "$rc" >"$prefix.rc"
}

# start_vgpud [--log-level LEVEL] [--keep-cuda-visible-devices] CONFIG LOGFILE SOCKET...: starts
# vgpud on CONFIG at --log-level LEVEL (default info), its output appended to LOGFILE, and waits
# (at most 30 s) until every SOCKET exists. Sets VGPUD_PID; returns 1 if it does not come up.
# vgpud gets no CUDA_VISIBLE_DEVICES: the config's GPU indices must mean the host's devices,
# whatever the calling shell has set. With --keep-cuda-visible-devices it inherits the variable
# instead (run.sh: its native runs see the same, so GPU 0 means the same GPU on both sides).
VGPUD_PID=""
declare -a STARTED_PIDS=()
start_vgpud() {
  local level=info i s missing=""
  local -a unset_cvd=(-u CUDA_VISIBLE_DEVICES)
  while [[ "${1:-}" == --* ]]; do
    case "$1" in
      --log-level) level=$2; shift 2 ;;
      --keep-cuda-visible-devices) unset_cvd=(); shift ;;
      *) log "start_vgpud: unknown option $1"; return 2 ;;
    esac
  done
  local config=$1 logfile=$2
  shift 2
  for s in "$@"; do rm -f "$s"; done
  env "${unset_cvd[@]}" LD_LIBRARY_PATH="$BUNDLE/lib" "$BUNDLE/bin/vgpud" --config "$config" \
    --log-level "$level" >>"$logfile" 2>&1 </dev/null &
  VGPUD_PID=$!
  STARTED_PIDS+=("$VGPUD_PID")
  for ((i = 0; i < 300; i++)); do
    missing=""
    for s in "$@"; do [[ -S "$s" ]] || missing+=" $s"; done
    [[ -z "$missing" ]] && return 0
    is_alive "$VGPUD_PID" || break
    sleep 0.1
  done
  if is_alive "$VGPUD_PID"; then
    log "vgpud (pid $VGPUD_PID) did not create$missing within 30 s"
  else
    log "vgpud exited during start-up"
  fi
  log "last lines of $logfile:"
  tail -n 30 "$logfile" | sed 's/^/    /'
  return 1
}

# stop_vgpud PID: SIGTERM, wait up to 10 s; sets STOP_RC to the exit code, or "timeout" if it had
# to be killed. Runs in this shell (not in $(...)): only the parent can collect the exit code.
# shellcheck disable=SC2034  # read by the caller
STOP_RC=""
stop_vgpud() {
  local pid=$1 i rc=0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do
    is_alive "$pid" || break
    sleep 0.1
  done
  if is_alive "$pid"; then
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    STOP_RC=timeout
    return 0
  fi
  wait "$pid" 2>/dev/null || rc=$?
  # shellcheck disable=SC2034  # read by the caller
  STOP_RC=$rc
}

# kill_started: kills every vgpud this script started that still runs (used on exit).
kill_started() {
  local pid
  for pid in "${STARTED_PIDS[@]}"; do
    if is_alive "$pid"; then
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
}

# ---- results -------------------------------------------------------------------------------------
# shellcheck disable=SC2034  # R_PASS and R_TENANT: read by the caller's report
declare -a R_NAME=() R_TENANT=() R_NATIVE=() R_VGPU=() R_MATCH=() R_PASS=() DETAILS=()
PASSED=0
FAILED=0

# record NAME TENANT NATIVE_CELL VGPU_CELL MATCH(yes|no|-) PASS(1|0) [DETAIL]
# TENANT "" (run.sh: one tenant) leaves " [TENANT]" out of the log line and the failure's heading.
record() {
  local tag=""
  [[ -n "$2" ]] && tag=" [$2]"
  R_NAME+=("$1")
  R_TENANT+=("$2")
  R_NATIVE+=("$3")
  R_VGPU+=("$4")
  R_MATCH+=("$5")
  R_PASS+=("$6")
  if [[ "$6" == 1 ]]; then
    PASSED=$((PASSED + 1))
  else
    FAILED=$((FAILED + 1))
    [[ -n "${7:-}" ]] && DETAILS+=("== $1$tag: $7")
  fi
  log "$1$tag: native=$3 vgpu=$4 match=$5 $([[ "$6" == 1 ]] && echo PASS || echo FAIL)"
}

# rc_cell RC: an exit code as a table cell.
rc_cell() {
  case "$1" in
    skipped) echo "skipped" ;;
    124 | 137) echo "timeout(rc=$1)" ;;
    *) echo "rc=$1" ;;
  esac
}

# compare NAME TENANT NATIVE_PREFIX VGPU_PREFIX [KIND(program|sample)]: stdout and exit code must
# be the same, and the native run must have succeeded. KIND sample (default program) compares
# stdout after filter_sample (PREFIX.filtered), which drops the lines that legitimately differ.
compare() {
  local name=$1 tenant=$2 np=$3 vp=$4 kind=${5:-program} nrc vrc same=no pass=0 detail=""
  local a=$np.out b=$vp.out
  nrc=$(cat "$np.rc")
  vrc=$(cat "$vp.rc")
  if [[ "$kind" == sample ]]; then
    filter_sample "$np.out" >"$np.filtered"
    filter_sample "$vp.out" >"$vp.filtered"
    a=$np.filtered
    b=$vp.filtered
  fi
  cmp -s "$a" "$b" && [[ "$nrc" == "$vrc" ]] && same=yes
  if [[ "$same" == yes && "$nrc" == 0 ]]; then
    pass=1
  elif [[ "$same" == yes ]]; then
    detail="the native run itself failed (rc=$nrc); see ${np#"$WORK"/}.out in outputs.tar.gz"
  else
    detail="exit codes native=$nrc vgpu=$vrc; stdout diff (native vs vgpu):
$(diff -u "$a" "$b" | sed -n '3,40p')
vgpu stderr (last lines):
$(tail -n 15 "$vp.err")"
  fi
  record "$name" "$tenant" "$(rc_cell "$nrc")" "$(rc_cell "$vrc")" "$same" "$pass" "$detail"
}

# record_vgpud_end: records whether vgpud ($VGPUD_PID) is still running and, if it is, that
# SIGTERM stops it with exit code 0 (the closing rows of run-driver.sh and run-frameworks.sh).
record_vgpud_end() {
  if is_alive "$VGPUD_PID"; then
    record "vgpud alive at end" "" "-" "alive" "-" 1 ""
    stop_vgpud "$VGPUD_PID"
    record "vgpud SIGTERM -> exit 0" "" "-" "rc=$STOP_RC" "-" "$([[ "$STOP_RC" == 0 ]] && echo 1 || echo 0)" \
      "vgpud exit: $STOP_RC"
  else
    record "vgpud alive at end" "" "-" "died" "-" 0 "see vgpud.log"
  fi
}

# report_table HEADING WIDTH: the recorded rows as a table (HEADING over the names, native and
# vgpu cells WIDTH wide), then each failure's details and the totals.
report_table() {
  local heading=$1 cell=$2 w=8 i n
  for n in "${R_NAME[@]}"; do ((${#n} > w)) && w=${#n}; done
  printf "%-${w}s | %-${cell}s | %-${cell}s | %s\n" "$heading" native vgpu match
  printf '%*s\n' $((w + 2 * cell + 18)) '' | tr ' ' '-'
  for i in "${!R_NAME[@]}"; do
    printf "%-${w}s | %-${cell}s | %-${cell}s | %s\n" "${R_NAME[$i]}" "${R_NATIVE[$i]}" "${R_VGPU[$i]}" "${R_MATCH[$i]}"
  done
  echo
  if [[ ${#DETAILS[@]} -gt 0 ]]; then
    echo "failures:"
    printf '%s\n\n' "${DETAILS[@]}"
  fi
  echo "$PASSED passed, $FAILED failed"
}
