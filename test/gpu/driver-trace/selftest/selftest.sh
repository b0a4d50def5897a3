#!/usr/bin/env bash
# selftest.sh [WORK_DIR]: the interposer's sanity check on a machine with no GPU.
#  1. Against the CUDA stub library (/usr/local/cuda/lib64/stubs/libcuda.so): the interposer
#     exports exactly the stub's names, a program that dlopen()s "libcuda.so.1" gets the
#     interposer, and calls by name, through cuGetProcAddress_v2 and cuGetExportTable reach the
#     stub (which answers 34, CUDA_ERROR_STUB_LIBRARY) and are logged.
#  2. Against fake-driver.so, which answers: counting stubs from cuGetProcAddress reach the right
#     function, arguments survive, threads count exactly, export tables can be wrapped, a name
#     missing from the driver answers 500, and pointing VGPU_TRACE_REAL_DRIVER at the interposer
#     itself fails cleanly instead of recursing.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(dirname "$here")
work=${1:-$(mktemp -d /tmp/driver-trace-selftest.XXXXXX)}
mkdir -p "$work"
stub=${CUDA_STUB:-/usr/local/cuda/lib64/stubs/libcuda.so}
fails=0
pass() { echo "PASS $*"; }
fail() { echo "FAIL $*"; fails=$((fails + 1)); }
expect() { # expect LOG REGEX WHAT
  if grep -Eq -- "$2" "$1"; then pass "$3"; else fail "$3 (no line matching '$2' in $1)"; fi
}

echo "== 1. CUDA stub library: $stub"
nm -D --defined-only "$stub" >"$work/stub.syms"
"$top/build.sh" "$work/stub.syms" "$work/stub-build" >/dev/null
if diff <(awk '{print $3}' "$work/stub.syms" | sort) \
        <(nm -D --defined-only "$work/stub-build/libcuda.so.1" | awk '{print $3}' | sort) >/dev/null
then pass "interposer exports exactly the stub's $(wc -l <"$work/stub.syms") names"
else fail "exported names differ from the stub's"; fi
gcc -O2 -Wall -Wextra -Werror -o "$work/stub-client" "$here/stub-client.c" -ldl
rm -f "$work/stub.log"
LD_LIBRARY_PATH="$work/stub-build" VGPU_TRACE_REAL_DRIVER="$stub" VGPU_TRACE_LOG="$work/stub.log" \
  "$work/stub-client" | tee "$work/stub.out"
expect "$work/stub.out" "^loaded=$work/stub-build/libcuda.so.1$" "dlopen(libcuda.so.1) found the interposer"
expect "$work/stub.out" "by name: rc=34" "cuDriverGetVersion by name reached the stub"
expect "$work/stub.out" "cuGetProcAddress_v2\(cuDriverGetVersion\): rc=34" "cuGetProcAddress_v2 reached the stub"
expect "$work/stub.out" "cuGetExportTable: rc=34" "cuGetExportTable reached the stub"
expect "$work/stub.log" " init real=$stub nsyms=634 missing=0 " "init line"
expect "$work/stub.log" "first-call via=name sym=cuDriverGetVersion" "first call logged"
expect "$work/stub.log" "gpa api=cuGetProcAddress_v2 sym=cuDriverGetVersion ver=13000 flags=0x0 rc=34" "gpa logged"
expect "$work/stub.log" "export uuid=6bd5fb6c5bf4e74a8987d93912fd9df9 rc=34" "export logged"
expect "$work/stub.log" "count via=name sym=cuDriverGetVersion n=1$" "by-name count"
expect "$work/stub.log" " exit names_called=3 " "exit line"
# VGPU_TRACE_EVERY: a line per call (with its first argument, here a pointer), no first-call.
# (The stub hands out no pointers through cuGetProcAddress, so only the by-name path is seen.)
rm -f "$work/every.log"
LD_LIBRARY_PATH="$work/stub-build" VGPU_TRACE_REAL_DRIVER="$stub" VGPU_TRACE_LOG="$work/every.log" \
  VGPU_TRACE_EVERY=1 "$work/stub-client" >/dev/null
expect "$work/every.log" "call sym=cuDriverGetVersion arg0=0x[0-9a-f]{6,}$" "every call logged by name, with arg0"
if grep -q "first-call via=name sym=cuDriverGetVersion" "$work/every.log"; then fail "a first-call line with VGPU_TRACE_EVERY"
else pass "no first-call line with VGPU_TRACE_EVERY"; fi

echo "== 2. fake driver"
gcc -O2 -fPIC -shared -Wall -Wextra -Wl,-soname,libcuda.so.1 -o "$work/fake-driver.so" "$here/fake-driver.c"
{ nm -D --defined-only "$work/fake-driver.so"; echo cuNotInDriver; } >"$work/fake.syms"
"$top/build.sh" "$work/fake.syms" "$work/fake-build" >/dev/null
gcc -O2 -Wall -Wextra -Werror -pthread -o "$work/fake-client" "$here/fake-client.c" -ldl
for wrap in 0 1 deadbeef "all,!deadbeef"; do
  log=$work/fake-wrap${wrap//[^a-z0-9]/_}.log
  rm -f "$log"
  if LD_LIBRARY_PATH="$work/fake-build" VGPU_TRACE_REAL_DRIVER="$work/fake-driver.so" \
     VGPU_TRACE_LOG="$log" VGPU_TRACE_WRAP_EXPORT=$wrap "$work/fake-client"
  then pass "fake-client (wrap_export=$wrap)"; else fail "fake-client (wrap_export=$wrap)"; fi
  expect "$log" "count via=name sym=cuInit n=800002$" "by-name count exact under 8 threads"
  expect "$log" "count via=procaddr sym=cuInit ver=12000 flags=0x0 n=800001$" "procaddr count exact under 8 threads"
  expect "$log" "count via=procaddr sym=cuInit ver=2000 flags=0x0 n=1$" "separate slot per version"
  expect "$log" "gpa api=cuGetProcAddress_v2 sym=cuNoSuchThing ver=12000 flags=0x0 rc=500 status=1 real=null slot=-1" "failed lookup logged"
  expect "$log" "gpa api=cuGetProcAddress_v2 sym=cuGetExportTable .* subst=interposer" "cuGetExportTable via procaddr substituted"
  expect "$log" "gpa api=cuGetProcAddress_v2 sym=cuDriverGetVersion ver=12000" "cuGetProcAddress via procaddr substituted"
  expect "$log" "count via=procaddr sym=cuFakeMany ver=12000 flags=0x0 n=2$" "procaddr count"
  expect "$log" "count via=name sym=cuFakeMany n=2$" "by-name count"
  expect "$log" "unresolved-call sym=cuNotInDriver" "missing name logged"
  expect "$log" "export uuid=deadbeef0102030405060708090a0b0c rc=0 table=\+0x[0-9a-f]+ head=0x20 head_ptr=- code_entries=2" "export table logged"
  expect "$log" "count via=name sym=cuGetExportTable n=1$" "cuGetExportTable by name counted"
  if [[ $wrap == 1 || $wrap == deadbeef ]]; then
    expect "$log" "wrapped=2$" "table wrapped (both code entries)"
    expect "$log" "count via=export uuid=deadbeef0102030405060708090a0b0c idx=2 n=2$" "export entry counted"
  else
    expect "$log" "wrapped=no" "table not wrapped by default"
  fi
  # first-call order: cuInit by name comes before the first gpa line
  if awk '/first-call via=name sym=cuInit/{a=NR} / gpa /&&!b{b=NR} END{exit !(a && b && a<b)}' "$log"
  then pass "events in order"; else fail "events out of order"; fi
done

echo "== 3. VGPU_TRACE_REAL_DRIVER pointing at the interposer itself"
rm -f "$work/self.log"
if timeout 10 env LD_LIBRARY_PATH="$work/stub-build" VGPU_TRACE_REAL_DRIVER="$work/stub-build/libcuda.so.1" \
     VGPU_TRACE_LOG="$work/self.log" "$work/stub-client" >"$work/self.out" 2>&1
then expect "$work/self.log" "error=real-driver-is-the-interposer" "self-reference refused"
     expect "$work/self.out" "by name: rc=500" "calls answer CUDA_ERROR_NOT_FOUND"
else fail "self-reference run failed (rc=$?)"; fi

echo "== $fails failure(s); files in $work"
exit $((fails != 0))
