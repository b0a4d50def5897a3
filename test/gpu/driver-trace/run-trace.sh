#!/usr/bin/env bash
# run-trace.sh OUT_DIR: on the GPU machine, records which driver entry points each test program
# asks for and calls. Builds the interposer against the machine's real libcuda, builds the
# programs, runs each program natively and then through the interposer (and, unless
# WRAP_EXPORT=0, again with export-table wrapping), checks that the outputs match, and
# writes the logs and summaries into OUT_DIR (flat: no sub-folders).
#
# Environment (all optional):
#   REAL_DRIVER   the real libcuda.so (default: ldconfig's libcuda.so.1, resolved)
#   PYTHON        the Python with torch / cupy / jax (default: python3)
#   NVCC          see build-programs.sh
#   WRAP_EXPORT   1 (default): also try wrapping each export table alone (probe-UUID8.*,
#                 wrap-probe.txt), then run each program with the tables that passed wrapped
#                 (NAME.wrap.*), to count which private entries are called
#   ONLY          space-separated program names to run (default: all)
#   BUDGET_S      the whole script's time limit in seconds (default 450): each run's limit is
#                 120 s or what is left of this, whichever is less; a run with under 15 s left is
#                 skipped
#
# OUT_DIR gets:
#   driver.path, driver.nm, driver.symbols, driver.readelf-V.txt, driver.objdump-T.txt
#   interposer-build.txt, programs-build.txt
#   NAME.native.out / .native.err, NAME.traced.out / .traced.err, NAME.log  (the trace)
#   wrap-probe.txt, probe-UUID8.*, NAME.wrap.*   (with WRAP_EXPORT=1)
#   NAME.summary.txt                 (summarize.py of NAME.log, plus the wrap pass's export lines)
#   ALL.summary.txt                  (every symbol and UUID across programs)
#   SUMMARY.txt                      (the table printed at the end)
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=${1:?usage: run-trace.sh OUT_DIR}
mkdir -p "$out"
out=$(cd "$out" && pwd)
python=${PYTHON:-python3}
budget=${BUDGET_S:-450}
wrap=${WRAP_EXPORT:-1}
work=$(mktemp -d /tmp/driver-trace.XXXXXX)
trap 'rm -rf "$work"' EXIT
log() { printf '[run-trace %3ds] %s\n' "$SECONDS" "$*"; }

# ---- the real driver -------------------------------------------------------------------------
real=${REAL_DRIVER:-}
if [[ -z $real ]]; then
  real=$(ldconfig -p 2>/dev/null | awk '$1 == "libcuda.so.1" && /x86-64/ {print $NF; exit}')
  for cand in "$real" /usr/lib/x86_64-linux-gnu/libcuda.so.1 /usr/local/nvidia/lib64/libcuda.so.1 \
              /usr/lib64/libcuda.so.1; do
    [[ -n $cand && -e $cand ]] && { real=$cand; break; }
  done
fi
if [[ -z $real || ! -e $real ]]; then
  log "no real libcuda.so.1 found (set REAL_DRIVER)"
  exit 1
fi
real=$(readlink -f "$real")
log "real driver: $real"
{ echo "$real"; ls -l "$real"; nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>&1; } \
  >"$out/driver.path"
nm -D --defined-only "$real" >"$out/driver.nm" 2>&1
awk '{print $NF}' "$out/driver.nm" | sort -u >"$out/driver.symbols"
readelf -V "$real" >"$out/driver.readelf-V.txt" 2>&1
objdump -T "$real" >"$out/driver.objdump-T.txt" 2>&1
awk '{print $2}' "$out/driver.nm" | sort | uniq -c >"$out/driver.symbol-types.txt"
log "driver exports $(wc -l <"$out/driver.symbols") names; types: $(tr -s ' \n' ' ' <"$out/driver.symbol-types.txt")"

# ---- builds --------------------------------------------------------------------------------
if ! "$here/build.sh" "$out/driver.nm" "$work/lib" >"$out/interposer-build.txt" 2>&1; then
  log "interposer build failed:"
  cat "$out/interposer-build.txt"
  exit 1
fi
log "$(tail -1 "$out/interposer-build.txt")"
"$here/build-programs.sh" "$work/bin" >"$out/programs-build.txt" 2>&1
cat "$work"/bin/*.build.log >>"$out/programs-build.txt" 2>/dev/null
log "programs: $(grep -c '^built' "$out/programs-build.txt") built, $(grep -c '^SKIP' "$out/programs-build.txt") skipped, $(grep -c '^FAIL' "$out/programs-build.txt") failed"
grep -E '^(SKIP|FAIL)' "$out/programs-build.txt"

# ---- the programs ----------------------------------------------------------------------------
# name | command
progs=()
for b in runtime_static runtime_shared cublas cufft curand cusolver cusparse driver_api nvrtc; do
  progs+=("$b|$work/bin/$b")
done
progs+=("torch|$python $here/programs/torch_matmul.py"
        "cupy|$python $here/programs/cupy_dot.py"
        "jax|$python $here/programs/jax_dot.py")

mkdir -p "$work/cwd"
# time_left: seconds a run may take now: 120, or less near the end of the budget.
time_left() {
  local left=$((budget - SECONDS))
  ((left > 120)) && left=120
  echo "$left"
}
# run_one TAG WRAP CMD...: runs CMD into $out/TAG.out / TAG.err; WRAP "native" runs it without
# the interposer, anything else through it, logging to $out/TAG.log, with
# VGPU_TRACE_WRAP_EXPORT=WRAP. Prints the exit code (124/137: timed out).
run_one() {
  local tag=$1 wrap_spec=$2
  shift 2
  local envs=()
  if [[ $wrap_spec != native ]]; then
    rm -f "$out/$tag.log"
    envs=(LD_LIBRARY_PATH="$work/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
          VGPU_TRACE_REAL_DRIVER="$real" VGPU_TRACE_LOG="$out/$tag.log"
          VGPU_TRACE_WRAP_EXPORT="$wrap_spec")
  fi
  (cd "$work/cwd" && env "${envs[@]}" PYTHONUNBUFFERED=1 timeout -k 5 "$(time_left)" "$@" \
     >"$out/$tag.out" 2>"$out/$tag.err")
  echo $?
}
# matches NAME TAG: the run TAG gave NAME's native exit code and stdout.
matches() {
  [[ ${rc_native[$1]} == "$(cat "$out/$2.rc" 2>/dev/null)" ]] && cmp -s "$out/$1.native.out" "$out/$2.out"
}

declare -A cmd_of=() rc_native=() rc_traced=() status=()
names=()
for spec in "${progs[@]}"; do
  name=${spec%%|*}
  cmd=${spec#*|}
  [[ -n ${ONLY:-} && " $ONLY " != *" $name "* ]] && continue
  names+=("$name")
  cmd_of[$name]=$cmd
  if [[ $cmd == "$work/bin/"* && ! -x ${cmd%% *} ]]; then
    status[$name]="not built"
  fi
done

# ---- phase 1: each program natively, then through the interposer -----------------------------
for name in "${names[@]}"; do
  [[ -n ${status[$name]:-} ]] && continue
  if (($(time_left) < 15)); then
    status[$name]="skipped (time budget)"
    continue
  fi
  # shellcheck disable=SC2086  # the command is a command line on purpose
  rc_native[$name]=$(run_one "$name.native" native ${cmd_of[$name]})
  # shellcheck disable=SC2086
  rc_traced[$name]=$(run_one "$name.traced" 0 ${cmd_of[$name]})
  echo "${rc_traced[$name]}" >"$out/$name.traced.rc"
  mv -f "$out/$name.traced.log" "$out/$name.log" 2>/dev/null
  log "$name: native rc=${rc_native[$name]} traced rc=${rc_traced[$name]}"
done

# ---- phase 2: which export tables tolerate wrapping -------------------------------------------
# The runtime checks some of its tables ("integrity checks failed" when they are wrapped), so
# each table is tried alone, with the first (cheapest) program that asked for it; the wrap pass
# then wraps only the tables that passed. wrap-probe.txt: UUID, program, result.
ok_uuids=()
if [[ $wrap == 1 ]]; then
  declare -A probed=()
  : >"$out/wrap-probe.txt"
  for name in "${names[@]}"; do
    [[ -z ${rc_native[$name]:-} || ! -s $out/$name.log ]] && continue
    for uuid in $(python3 "$here/summarize.py" --uuids "$out/$name.log"); do
      [[ -n ${probed[$uuid]:-} ]] && continue
      probed[$uuid]=1
      if (($(time_left) < 15)); then
        echo "$uuid $name skipped(time)" >>"$out/wrap-probe.txt"
        continue
      fi
      tag=probe-${uuid:0:8}
      # shellcheck disable=SC2086
      run_one "$tag" "$uuid" ${cmd_of[$name]} >"$out/$tag.rc"
      if matches "$name" "$tag"; then
        ok_uuids+=("$uuid")
        echo "$uuid $name ok $(grep -c "count via=export" "$out/$tag.log") entries called" >>"$out/wrap-probe.txt"
      else
        echo "$uuid $name FAILS rc=$(cat "$out/$tag.rc"): $(grep -v '^\s*$' "$out/$tag.err" "$out/$tag.out" | tail -1 | cut -c1-160)" >>"$out/wrap-probe.txt"
      fi
    done
  done
  log "wrap probe: ${#ok_uuids[@]} table(s) tolerate wrapping; $(grep -c FAILS "$out/wrap-probe.txt") do not"
fi

# ---- phase 3: the wrap pass, with the tolerant tables wrapped ----------------------------------
declare -A wrap_ok=()
if [[ $wrap == 1 && ${#ok_uuids[@]} -gt 0 ]]; then
  spec=$(IFS=,; echo "${ok_uuids[*]}")
  for name in "${names[@]}"; do
    [[ -z ${rc_native[$name]:-} ]] && continue
    (($(time_left) < 15)) && continue
    # shellcheck disable=SC2086
    run_one "$name.wrap" "$spec" ${cmd_of[$name]} >"$out/$name.wrap.rc"
    wrap_ok[$name]=no
    matches "$name" "$name.wrap" && wrap_ok[$name]=yes
  done
fi

# ---- summaries -----------------------------------------------------------------------------
printf '%-15s %-9s %-9s %-6s %-6s %-10s %-8s %-7s %-9s %-9s\n' program ok-native ok-traced same \
  wrap-ok "#procaddr" "#called" "#export" processes dtor-ran >"$out/SUMMARY.txt"
all_args=()
for name in "${names[@]}"; do
  if [[ -n ${status[$name]:-} ]]; then
    printf '%-15s %s\n' "$name" "${status[$name]}" >>"$out/SUMMARY.txt"
    continue
  fi
  same=no
  cmp -s "$out/$name.native.out" "$out/$name.traced.out" && same=yes
  python3 "$here/summarize.py" "$out/$name.log" >"$out/$name.summary.txt" 2>&1
  if [[ -s $out/$name.wrap.log ]]; then
    { echo; echo "==== wrap pass (VGPU_TRACE_WRAP_EXPORT=the tables in wrap-probe.txt that passed)"
      python3 "$here/summarize.py" "$out/$name.wrap.log" | sed -n '/^export tables:/,/^called:/p' | sed '$d'
    } >>"$out/$name.summary.txt"
  fi
  all_args+=("$name=$out/$name.log")
  IFS=$'\t' read -r _ npa ncalled nexp nproc dtor < <(python3 "$here/summarize.py" --row "$name" "$out/$name.log")
  rn=${rc_native[$name]} rt=${rc_traced[$name]}
  ok_n=$([[ $rn == 0 ]] && echo yes || echo "no($rn)")
  ok_t=$([[ $rt == 0 ]] && echo yes || echo "no($rt)")
  printf '%-15s %-9s %-9s %-6s %-6s %-10s %-8s %-7s %-9s %-9s\n' "$name" "$ok_n" "$ok_t" "$same" \
    "${wrap_ok[$name]:--}" "$npa" "$ncalled" "$nexp" "$nproc" "$dtor" >>"$out/SUMMARY.txt"
done
if ((${#all_args[@]})); then
  python3 "$here/summarize.py" --all "${all_args[@]}" >"$out/ALL.summary.txt" 2>&1
fi
{
  echo
  echo "ok-*: exit code 0; same: traced stdout == native stdout; wrap-ok: the wrap pass (the"
  echo "export tables that passed wrap-probe.txt wrapped) matched native too; #procaddr: distinct"
  echo "symbols asked of cuGetProcAddress; #called: distinct functions called (by name or through"
  echo "those pointers); #export: distinct cuGetExportTable UUIDs; dtor-ran: every process ran"
  echo "its exit counts."
  [[ -s $out/wrap-probe.txt ]] && { echo; echo "export tables wrapped one at a time:"; cat "$out/wrap-probe.txt"; }
  echo "real driver: $real; total ${SECONDS}s"
} >>"$out/SUMMARY.txt"
cat "$out/SUMMARY.txt"
