#!/usr/bin/env bash
# build.sh SYMBOLS_FILE OUT_DIR: builds the interposer as OUT_DIR/libcuda.so.1.
# SYMBOLS_FILE is `nm -D --defined-only` output of the real driver (or one name a line).
# OUT_DIR then holds only libcuda.so.1 (plus the generated .S), so that putting OUT_DIR first in
# LD_LIBRARY_PATH puts the interposer, and nothing else, in front of the real driver.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
syms=$1
out=$2
mkdir -p "$out"
# NDYN: how many pointers from cuGetProcAddress / export tables can be counted (default 4096).
python3 "$here/gen-trampolines.py" "$syms" "$out/trampolines.S" "${NDYN:-4096}"
# -z nodelete: the stubs we hand out must outlive any dlclose of libcuda.so.1.
# -fvisibility=hidden: export the driver's names and nothing of our own.
gcc -O2 -fPIC -shared -Wall -Wextra -fvisibility=hidden -pthread \
  -Wl,-soname,libcuda.so.1 -Wl,-z,nodelete -Wl,-z,now \
  -o "$out/libcuda.so.1" "$here/libcuda-trace.c" "$out/trampolines.S" -ldl
echo "built $out/libcuda.so.1 ($(nm -D --defined-only "$out/libcuda.so.1" | grep -c ' T ') exported functions)"
