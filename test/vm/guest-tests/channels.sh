#!/bin/sh
# The VM path inside one guest (run by test/vm/run-tests.sh against vgpud with a 4-slot VM):
#   1. a program's memory round-trips data through BAR2, over the PCI transport, as a user of
#      group vgpu;
#   2. several processes at once, each with its own channel;
#   3. a user outside group vgpu gets one sentence saying what to do;
#   4. processes killed (one in the middle of its copies, three holding memory) keep their
#      slots only until their leases run out: then vgpud takes them back and four new
#      processes run at once.
# VGPU_SLOTS (default 4) must match vgpud's vm.slots; VGPU_LEASE_S is a little more than
# lease_timeout_ms.
set -u
slots=${VGPU_SLOTS:-4}
lease_s=${VGPU_LEASE_S:-2}
fail() { echo "FAIL: $*"; exit 1; }
step() { echo "== $*"; }

# Starts N copies of a command as vgpuuser in the background and waits for all of them;
# fails if any failed. Output goes to /tmp/par.N.log.
run_parallel() {
  n=$1; shift
  pids=""
  i=1
  while [ "$i" -le "$n" ]; do
    run-as vgpuuser "$@" > "/tmp/par.$i.log" 2>&1 &
    pids="$pids $!"
    i=$((i + 1))
  done
  i=1
  bad=0
  for p in $pids; do
    if ! wait "$p"; then echo "process $i failed:"; cat "/tmp/par.$i.log"; bad=1; fi
    i=$((i + 1))
  done
  return $bad
}

# Waits (up to 60 s) until FILE contains TEXT.
wait_for_text() {
  t=0
  until grep -q "$2" "$1" 2>/dev/null; do
    t=$((t + 1)); [ $t -gt 600 ] && { cat "$1"; return 1; }
    sleep 0.1
  done
}

step "1. memory round trip through BAR2 as vgpuuser"
run-as vgpuuser env VGPU_LOG=info memory_roundtrip > /tmp/one.log 2>&1 || { cat /tmp/one.log; fail "memory_roundtrip"; }
cat /tmp/one.log
grep -q 'connected to vgpud over pci:' /tmp/one.log || fail "the shim did not pick the PCI transport"

step "2. $((slots - 1)) processes at once"
run_parallel $((slots - 1)) memory_roundtrip 2 || fail "concurrent memory_roundtrip"
echo "ok: $((slots - 1)) concurrent processes round-tripped their data"

step "3. a user outside group vgpu"
if run-as otheruser memory_roundtrip > /tmp/other.log 2>&1; then cat /tmp/other.log; fail "otheruser got the GPU"; fi
cat /tmp/other.log
[ "$(grep -c "add this user to group 'vgpu'" /tmp/other.log)" -eq 1 ] || fail "no single sentence naming group vgpu"

step "4. killed processes are reclaimed"
run-as vgpuuser memory_roundtrip 0 > /tmp/stream.log 2>&1 &
stream=$!
holders=""
i=1
while [ "$i" -lt "$slots" ]; do
  run-as vgpuuser hold_resources > "/tmp/hold.$i.log" 2>&1 &
  holders="$holders $!"
  i=$((i + 1))
done
wait_for_text /tmp/stream.log 'round 1 ok' || fail "the streaming process did not get going"
i=1
for p in $holders; do
  wait_for_text "/tmp/hold.$i.log" holding || fail "holder $i did not take its resources"
  i=$((i + 1))
done
kill -9 "$stream" $holders
wait 2>/dev/null
echo "killed the streaming process (after $(grep -c 'ok' /tmp/stream.log) rounds) and $((slots - 1)) holders"
# Every slot is still taken right after the kill: the leases have not run out yet.
if run-as vgpuuser memory_roundtrip > /tmp/full.log 2>&1; then fail "a slot was free right after the kill"; fi
grep -q "slots of this VM are in use" /tmp/full.log || { cat /tmp/full.log; fail "unexpected error while the slots were held"; }
echo "ok: all $slots slots still held right after the kill"
sleep "$lease_s"
run_parallel "$slots" memory_roundtrip || fail "the killed processes' slots were not reclaimed"
echo "ok: $slots processes ran at once after the reclaim"
echo "channels: all checks passed"
