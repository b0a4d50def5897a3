#!/usr/bin/env bash
# run-hostile.sh BUNDLE_DIR
#
# Runs on the GPU machine (as root), on a bundle made by test/gpu/make-bundle.sh from a build
# with the tests (it needs bin/vgpu-hostile-client and hostile/). Proves on a real GPU what the
# hostile-guest work promises (docs/configuration.md, "What a tenant can make vgpud and the GPUs
# hold"). Every run through vgpu sees no driver (hide-driver.sh). One vgpud, three tenants on
# GPU 0: alpha and beta (no limits), limited (device_memory: 512MiB).
#
#   1. speed beside hostile clients: test programs run through alpha and beta, first alone, then
#      with misbehaving clients connected to both tenants (vgpu-hostile-client: handshakes never
#      sent, channels opened and left idle, guests that post 60,000 calls and read no reply,
#      guests that send malformed messages without end). Outputs must equal the native run's;
#      each program's time beside them must stay within SLOWDOWN_LIMIT (default 1.5) of its time
#      alone (the better of two runs each, to keep one scheduling hiccup out of it).
#   2. well-formed calls with hostile fields, with the real driver behind vgpud: BADCALLS_N
#      (default 2) vgpu-hostile-client badcalls on beta, each posting as fast as it can 2D memsets
#      and stream memory operations past its 4 KiB allocation or into memory that is not its
#      own, unknown module, function and stream ids, launches with the wrong parameter size,
#      limits no driver has, instantiations of a graph whose edges close a cycle, virtual memory
#      mapped outside its reservation or past its end, unmaps of what is not a mapping, array
#      copies past a row, __managed__ variables looked up in no module
#      (test/integration/hostile_client.cpp). Beside them and again after
#      they are gone, the test programs through alpha must give the native output; vgpud must
#      have executed their calls (beta's counters: executed; its refusals are answered as
#      errors, and driver errors are shown), beta must hold no device memory once they are gone
#      and still serve a new program (vector_add), and vgpud must stay up with a small log.
#   3. idle channels hold no context: 8 programs that count devices, read properties and wait
#      must add less than 100 MiB to the GPU's used memory (a context is about 500 MiB).
#   4. module globals count against device_memory: big_globals (a few KB module, 1 GiB
#      __device__ array) fails with cudaErrorMemoryAllocation under `limited` and leaves the GPU
#      as it was; through alpha it gives the native result.
#   5. a guest SIGKILLed while its kernel never ends (and holding 1 GiB): the GPU's used memory
#      must be back at its baseline within KILL_BOUND_S (default 10) seconds.
#   6. vgpud is still alive and stops with exit code 0.
#
# Prints a table (check | result | detail), then "N passed, M failed"; exits 1 if anything failed.
# Environment: OUT_LOG_DIR (keep report.txt, vgpud.log, outputs.tar.gz there), CUDA_LIB (the real
# runtime's folder, default /usr/local/cuda/lib64), RUN_TIMEOUT (seconds per run, default 120),
# SLOWDOWN_LIMIT, KILL_BOUND_S, BADCALLS_N.
set -euo pipefail

if [[ $# -ne 1 ]]; then
  echo "usage: $0 BUNDLE_DIR" >&2
  exit 2
fi
BUNDLE=$(cd "$1" && pwd)
GPU_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CUDA_LIB=${CUDA_LIB:-/usr/local/cuda/lib64}
RUN_TIMEOUT=${RUN_TIMEOUT:-120}
SLOWDOWN_LIMIT=${SLOWDOWN_LIMIT:-1.5}
KILL_BOUND_S=${KILL_BOUND_S:-10}
BADCALLS_N=${BADCALLS_N:-2}
DEADLINE=""
LOG_TAG=run-hostile.sh
PROGS=(matmul_tiled reduction_atomics streams_events_overlap vector_add)

# shellcheck source=test/gpu/lib.sh
. "$GPU_DIR/lib.sh"

# WORK, LOGDIR, OUTS (packed into LOGDIR/outputs.tar.gz at exit), and the clean-up at exit.
setup_work vgpu-hostile
SOCKS=$WORK/vgpud
mkdir -p "$SOCKS"

declare -a CLIENT_PIDS=()
# Run by lib.sh's cleanup_work at exit, before it kills vgpud: each hostile client's whole
# process group.
before_cleanup() {
  local p
  for p in "${CLIENT_PIDS[@]}"; do kill -KILL -- "-$p" 2>/dev/null || true; done
}

for f in "$BUNDLE/bin/vgpud" "$BUNDLE/bin/vgpu-hostile-client" "$BUNDLE/hostile/big_globals" \
  "$BUNDLE/shim/libcudart.so.13" "$CUDA_LIB/libcudart.so.13"; do
  [[ -e "$f" ]] || { echo "error: $f is missing (make-bundle.sh from a build with the tests)" >&2; exit 1; }
done

# ---- helpers -------------------------------------------------------------------------------------
# gpu_used: MiB used on GPU 0, as nvidia-smi reports it.
gpu_used() { nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -i 0 | tr -d ' '; }

# settle_used: GPU 0's used memory once two readings 0.5 s apart agree (contexts from the
# previous step may still be going away).
settle_used() {
  local a b i
  a=$(gpu_used)
  for ((i = 0; i < 20; i++)); do
    sleep 0.5
    b=$(gpu_used)
    [[ "$a" == "$b" ]] && break
    a=$b
  done
  echo "$b"
}

# native OUTPREFIX BINARY: the real runtime and driver.
native() {
  local prefix=$1 bin=$2
  shift 2
  mkdir -p "$(dirname "$prefix")"
  run_prog "$prefix" "$bin" -u VGPU_SOCKET "LD_LIBRARY_PATH=$CUDA_LIB"
}

# guest OUTPREFIX TENANT BINARY: through vgpu on TENANT's socket, with the driver hidden.
guest() {
  local prefix=$1 tenant=$2 bin=$3
  mkdir -p "$(dirname "$prefix")"
  run_prog_hidden "$prefix" "$bin" "LD_LIBRARY_PATH=$BUNDLE/shim:$BUNDLE/lib" \
    "VGPU_SOCKET=$SOCKS/$tenant.sock"
}

# start_bg OUTFILE COMMAND...: in its own process group (killed whole later); records the group.
start_bg() {
  local out=$1
  shift
  setsid "$@" >"$out" 2>&1 </dev/null &
  CLIENT_PIDS+=("$!")
}

# wait_for FILE TEXT SECONDS: until FILE contains TEXT.
wait_for() {
  local i
  for ((i = 0; i < $3 * 10; i++)); do
    grep -q "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

declare -a C_NAME=() C_PASS=() C_DETAIL=()
check() {  # check NAME PASS(1|0) DETAIL
  C_NAME+=("$1")
  C_PASS+=("$2")
  C_DETAIL+=("$3")
  log "$1: $([[ $2 == 1 ]] && echo PASS || echo FAIL) $3"
}

# same_as_native PREFIX PROGRAM: 1 if the run at PREFIX printed what PROGRAM's native run
# (OUTS/native/PROGRAM) printed and both exited 0, else 0.
same_as_native() {
  if cmp -s "$OUTS/native/$2.out" "$1.out" && [[ $(cat "$1.rc") == 0 && $(cat "$OUTS/native/$2.rc") == 0 ]]; then
    echo 1
  else
    echo 0
  fi
}

counter() {  # counter TENANT COLUMN: from `vgpud counters`
  LD_LIBRARY_PATH="$BUNDLE/lib" "$BUNDLE/bin/vgpud" --config "$WORK/vgpu.yaml" counters 2>/dev/null |
    awk -v t="$1" -v c="$2" 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i } $1 == t { print $col[c] }'
}

# ---- vgpud ---------------------------------------------------------------------------------------
cat >"$WORK/vgpu.yaml" <<EOF
vgpud:
  log_level: info
  control_socket: $SOCKS/control.sock
tenants:
  - name: alpha
    local: { socket: $SOCKS/alpha.sock }
    limits: { max_processes: 64 }
  - name: beta
    local: { socket: $SOCKS/beta.sock }
    limits: { max_processes: 64 }
  - name: limited
    local: { socket: $SOCKS/limited.sock }
    limits: { device_memory: 512MiB }
EOF
BASELINE_EMPTY=$(settle_used)
start_vgpud "$WORK/vgpu.yaml" "$LOGDIR/vgpud.log" "$SOCKS/alpha.sock" "$SOCKS/beta.sock" \
  "$SOCKS/limited.sock" || exit 1
BASELINE=$(settle_used)
log "GPU 0 used: ${BASELINE_EMPTY} MiB before vgpud, ${BASELINE} MiB with vgpud serving nobody"

# ---- 1. speed beside hostile clients -------------------------------------------------------------
best_ms() {  # best_ms PREFIX1 PREFIX2
  local a b
  a=$(cat "$1.ms")
  b=$(cat "$2.ms")
  echo $((a < b ? a : b))
}
for p in "${PROGS[@]}"; do native "$OUTS/native/$p" "$BUNDLE/programs/$p"; done
for t in alpha beta; do
  for p in "${PROGS[@]}"; do
    for i in 1 2; do guest "$OUTS/quiet/$t/$p.$i" "$t" "$BUNDLE/programs/$p"; done
  done
done

HC=$BUNDLE/bin/vgpu-hostile-client
mkdir -p "$OUTS/clients"
n=0
for t in alpha beta; do
  for ((i = 0; i < 10; i++)); do start_bg "$OUTS/clients/$((n++)).log" "$HC" silent "$SOCKS/$t.sock" 300; done
  for ((i = 0; i < 4; i++)); do start_bg "$OUTS/clients/$((n++)).log" "$HC" idle "$SOCKS/$t.sock" 300; done
  for ((i = 0; i < 2; i++)); do start_bg "$OUTS/clients/$((n++)).log" "$HC" noread "$SOCKS/$t.sock" 300; done
  start_bg "$OUTS/clients/$((n++)).log" "$HC" garbage "$SOCKS/$t.sock" 300
done
ready=0
for ((i = 0; i < n; i++)); do wait_for "$OUTS/clients/$i.log" ": ready" 30 && ready=$((ready + 1)); done
log "$ready of $n hostile clients ready"
sleep 1
for t in alpha beta; do
  for p in "${PROGS[@]}"; do
    for i in 1 2; do guest "$OUTS/loaded/$t/$p.$i" "$t" "$BUNDLE/programs/$p"; done
    same=1
    for i in 1 2; do [[ $(same_as_native "$OUTS/loaded/$t/$p.$i" "$p") == 1 ]] || same=0; done
    quiet=$(best_ms "$OUTS/quiet/$t/$p.1" "$OUTS/quiet/$t/$p.2")
    loaded=$(best_ms "$OUTS/loaded/$t/$p.1" "$OUTS/loaded/$t/$p.2")
    ratio=$(awk -v a="$loaded" -v b="$quiet" 'BEGIN { printf "%.2f", a / b }')
    ok=$(awk -v r="$ratio" -v l="$SLOWDOWN_LIMIT" 'BEGIN { print (r <= l) ? 1 : 0 }')
    pass=$((same && ok))
    check "beside hostile clients: $p [$t]" "$pass" \
      "output $([[ $same == 1 ]] && echo "= native" || echo DIFFERS); ${quiet} ms alone, ${loaded} ms beside them (x${ratio})"
  done
done
clients_held=$(settle_used)
check "hostile clients hold no GPU memory beyond their own allocations" \
  "$((clients_held - BASELINE <= 4 * 64 + 4 * 600 ? 1 : 0))" \
  "GPU 0 used ${clients_held} MiB with $n clients connected (baseline ${BASELINE}; the 4 noread clients allocated 64 MiB each and hold a context each)"
for p in "${CLIENT_PIDS[@]}"; do kill -KILL -- "-$p" 2>/dev/null || true; done
CLIENT_PIDS=()
sleep 3
# The garbage clients sent malformed messages for the whole phase: vgpud logs a few lines per
# channel and counts the rest, so its log stays small.
log_kib=$(($(stat -c %s "$LOGDIR/vgpud.log") / 1024))
check "vgpud's log beside the garbage clients stays small" "$((log_kib < 1024 ? 1 : 0))" \
  "${log_kib} KiB of log; $(counter alpha rejected) + $(counter beta rejected) messages rejected"
alive=$(is_alive "$VGPUD_PID" && echo 1 || echo 0)
check "vgpud alive after the hostile clients" "$alive" "pid $VGPUD_PID"

# ---- 2. hostile call fields with the real driver -------------------------------------------------
# The garbage clients above send call ids that do not exist; these send real calls whose fields
# are out of range, which vgpud must refuse before anything reaches the driver (a wild memset or
# stream write would fault beta's GPU context, or scribble on memory that is not beta's). Their
# tenant is beta; the programs that must not notice run through alpha.
# counters_of TENANT: its executed, drv_errors and rejected counters, space-separated (0 0 0 when
# vgpud does not answer, so that the table is still printed).
counters_of() {
  local e d r
  e=$(counter "$1" executed) d=$(counter "$1" drv_errors) r=$(counter "$1" rejected)
  echo "${e:-0} ${d:-0} ${r:-0}"
}
read -r executed_before drv_errors_before rejected_before < <(counters_of beta)
log_before=$(stat -c %s "$LOGDIR/vgpud.log")
mkdir -p "$OUTS/badcalls"
for ((i = 0; i < BADCALLS_N; i++)); do
  start_bg "$OUTS/badcalls/client.$i.log" "$HC" badcalls "$SOCKS/beta.sock" 300
done
ready=0
for ((i = 0; i < BADCALLS_N; i++)); do
  wait_for "$OUTS/badcalls/client.$i.log" "badcalls: ready" 30 && ready=$((ready + 1))
done
log "$ready of $BADCALLS_N badcalls clients ready"
sleep 2
for when in beside after; do
  if [[ $when == after ]]; then
    for p in "${CLIENT_PIDS[@]}"; do kill -KILL -- "-$p" 2>/dev/null || true; done
    CLIENT_PIDS=()
    sleep 1
  fi
  for p in "${PROGS[@]}"; do
    guest "$OUTS/badcalls/$when/$p" alpha "$BUNDLE/programs/$p"
    same=$(same_as_native "$OUTS/badcalls/$when/$p" "$p")
    check "$when badcalls clients on beta: $p [alpha]" "$same" \
      "output $([[ $same == 1 ]] && echo "= native" || echo "DIFFERS (rc $(cat "$OUTS/badcalls/$when/$p.rc"))")"
  done
done
read -r executed drv_errors rejected < <(counters_of beta)
executed=$((executed - executed_before)) drv_errors=$((drv_errors - drv_errors_before))
rejected=$((rejected - rejected_before))
check "badcalls clients started, and vgpud took their calls" "$((ready == BADCALLS_N && executed > 0 ? 1 : 0))" \
  "$ready of $BADCALLS_N ready; beta: $executed calls executed ($drv_errors driver errors, $rejected rejected)"
# Their channels close when they are killed: vgpud frees the 4 KiB each allocated.
held=""
for ((i = 0; i < 50; i++)); do
  held=$(counter beta device_bytes)
  [[ "$held" == 0 ]] && break
  sleep 0.1
done
check "beta holds no device memory once the badcalls clients are gone" "$([[ "$held" == 0 ]] && echo 1 || echo 0)" \
  "beta's device_bytes ${held:-unknown}"
# Nothing they sent reached beta's GPU context: a new process of the same tenant works.
guest "$OUTS/badcalls/after/beta-vector_add" beta "$BUNDLE/programs/vector_add"
same=$(same_as_native "$OUTS/badcalls/after/beta-vector_add" vector_add)
check "after badcalls clients on beta: vector_add [beta]" "$same" \
  "output $([[ $same == 1 ]] && echo "= native" || echo "DIFFERS (rc $(cat "$OUTS/badcalls/after/beta-vector_add.rc"))")"
log_kib=$((($(stat -c %s "$LOGDIR/vgpud.log") - log_before) / 1024))
alive=$(is_alive "$VGPUD_PID" && echo 1 || echo 0)
check "vgpud alive after the badcalls clients, its log small" "$((alive && log_kib < 1024 ? 1 : 0))" \
  "pid $VGPUD_PID $([[ $alive == 1 ]] && echo alive || echo DEAD); ${log_kib} KiB of log in this step"

# ---- 3. idle channels hold no context ------------------------------------------------------------
BASELINE=$(settle_used)
mkdir -p "$OUTS/idle"
for ((i = 0; i < 8; i++)); do
  start_bg "$OUTS/idle/$i.log" "$HIDE_DRIVER" env "LD_LIBRARY_PATH=$BUNDLE/shim:$BUNDLE/lib" \
    "VGPU_SOCKET=$SOCKS/alpha.sock" "$BUNDLE/hostile/idle_client" 20
done
ready=0
for ((i = 0; i < 8; i++)); do wait_for "$OUTS/idle/$i.log" "idle_client: " 30 && ready=$((ready + 1)); done
sleep 1
idle_used=$(gpu_used)
processes=$(counter alpha processes)
check "8 idle guest programs hold no context" "$((ready == 8 && processes >= 8 && idle_used - BASELINE < 100 ? 1 : 0))" \
  "$ready ready, $processes connected; GPU 0 used ${idle_used} MiB, baseline ${BASELINE} MiB"
for p in "${CLIENT_PIDS[@]}"; do kill -KILL -- "-$p" 2>/dev/null || true; done
CLIENT_PIDS=()

# ---- 4. module globals count against device_memory -----------------------------------------------
BASELINE=$(settle_used)
native "$OUTS/globals/native" "$BUNDLE/hostile/big_globals"
guest "$OUTS/globals/limited" limited "$BUNDLE/hostile/big_globals"
after_limited=$(settle_used)
held=$(counter limited device_bytes)
refused=$(grep -c "cudaErrorMemoryAllocation" "$OUTS/globals/limited.out" || true)
check "1 GiB of __device__ globals refused under device_memory 512MiB" \
  "$((refused == 1 && $(cat "$OUTS/globals/limited.rc") == 1 && after_limited - BASELINE < 50 && held == 0 ? 1 : 0))" \
  "vgpu: $(head -c 80 "$OUTS/globals/limited.out") (rc $(cat "$OUTS/globals/limited.rc")); native: $(head -c 60 "$OUTS/globals/native.out"); GPU 0 used after ${after_limited} MiB (baseline ${BASELINE}); limited's device_bytes ${held}"
guest "$OUTS/globals/alpha" alpha "$BUNDLE/hostile/big_globals"
same=$(cmp -s "$OUTS/globals/native.out" "$OUTS/globals/alpha.out" && echo 1 || echo 0)
check "the same module under no limit gives the native result" "$((same && $(cat "$OUTS/globals/alpha.rc") == 0 ? 1 : 0))" \
  "vgpu: $(head -c 60 "$OUTS/globals/alpha.out")"
if grep -q "not counted against limits.device_memory" "$LOGDIR/vgpud.log"; then
  check "module memory measured (NVML found)" 0 "$(grep -m1 "not counted" "$LOGDIR/vgpud.log")"
fi

# ---- 5. a guest killed while its kernel never ends -----------------------------------------------
BASELINE=$(settle_used)
mkdir -p "$OUTS/kill"
start_bg "$OUTS/kill/forever.log" "$HIDE_DRIVER" env "LD_LIBRARY_PATH=$BUNDLE/shim:$BUNDLE/lib" \
  "VGPU_SOCKET=$SOCKS/alpha.sock" "$BUNDLE/hostile/forever_kernel"
if wait_for "$OUTS/kill/forever.log" "forever_kernel: running" 60; then
  sleep 1
  running_used=$(gpu_used)
  kill -KILL -- "-${CLIENT_PIDS[0]}"
  killed=$(now_ms)
  back=""
  for ((i = 0; i < 600; i++)); do
    if (($(gpu_used) - BASELINE < 50)); then back=$(($(now_ms) - killed)); break; fi
    sleep 0.05
  done
  CLIENT_PIDS=()
  ok=$([[ -n "$back" ]] && ((back <= KILL_BOUND_S * 1000)) && echo 1 || echo 0)
  check "a killed guest's GPU memory comes back while its kernel never ends" "$ok" \
    "used ${running_used} MiB while running, baseline ${BASELINE} MiB; back after ${back:-never (30 s)} ms (bound ${KILL_BOUND_S} s)"
else
  check "a killed guest's GPU memory comes back while its kernel never ends" 0 \
    "forever_kernel did not start: $(tail -n 3 "$OUTS/kill/forever.log")"
fi

# ---- 6. vgpud stops cleanly ----------------------------------------------------------------------
alive=$(is_alive "$VGPUD_PID" && echo 1 || echo 0)
stop_vgpud "$VGPUD_PID"
check "vgpud alive at the end, stops with exit code 0" "$((alive && STOP_RC == 0 ? 1 : 0))" "stop rc ${STOP_RC}"

# ---- table ---------------------------------------------------------------------------------------
{
  printf '%-72s | %-6s | %s\n' check result detail
  passed=0 failed=0
  for i in "${!C_NAME[@]}"; do
    printf '%-72s | %-6s | %s\n' "${C_NAME[$i]}" "$([[ ${C_PASS[$i]} == 1 ]] && echo PASS || echo FAIL)" "${C_DETAIL[$i]}"
    if [[ ${C_PASS[$i]} == 1 ]]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
  done
  echo "$passed passed, $failed failed"
} | tee "$LOGDIR/report.txt"
grep -q " 0 failed$" "$LOGDIR/report.txt"
