#!/usr/bin/env bash
# build-programs.sh OUT_DIR: compiles programs/*.cu|*.cpp with nvcc (-arch=sm_90) into OUT_DIR,
# all at once in the background, and prints one line per program: "built NAME", "SKIP NAME (why)"
# or "FAIL NAME" (the compiler's output is in OUT_DIR/NAME.build.log).
#
# nvcc is $NVCC, else /usr/local/cuda/bin/nvcc, else the one on PATH. The math libraries are
# linked from the toolkit's lib64 and found there at run time through a RUNPATH, so that running
# a program needs only the interposer in LD_LIBRARY_PATH. A program whose library is missing from
# the toolkit is skipped, not failed. -lcuda links against the toolkit's stub (nvcc adds
# lib64/stubs by itself); at run time DT_NEEDED libcuda.so.1 finds the interposer or the driver.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=${1:?usage: build-programs.sh OUT_DIR}
mkdir -p "$out"
out=$(cd "$out" && pwd)
nvcc=${NVCC:-}
[[ -z $nvcc && -x /usr/local/cuda/bin/nvcc ]] && nvcc=/usr/local/cuda/bin/nvcc
[[ -z $nvcc ]] && nvcc=$(command -v nvcc || true)
if [[ -z $nvcc ]]; then
  echo "build-programs: no nvcc" >&2
  exit 1
fi
cuda_home=$(dirname "$(dirname "$(readlink -f "$nvcc")")")
libdir=$cuda_home/lib64
[[ -d $libdir ]] || libdir=$cuda_home/targets/x86_64-linux/lib
src=$here/programs
common=(-arch=sm_90 -O2 -std=c++17 -I"$src" -Xlinker "-rpath=$libdir")

# name | source | extra nvcc arguments (the -l options double as the list of libraries needed)
specs=(
  "runtime_static|runtime.cu|"
  "runtime_shared|runtime.cu|-cudart shared"
  "cublas|cublas.cu|-lcublas -lcublasLt"
  "cufft|cufft.cu|-lcufft"
  "curand|curand.cu|-lcurand"
  "cusolver|cusolver.cu|-lcusolver"
  "cusparse|cusparse.cu|-lcusparse"
  "driver_api|driver_api.cpp|-cudart none -lcuda"
  "nvrtc|nvrtc.cpp|-cudart none -lnvrtc -lcuda"
)

declare -A pids=()
for spec in "${specs[@]}"; do
  IFS='|' read -r name file extra <<<"$spec"
  missing=""
  for opt in $extra; do
    case $opt in
      -lcuda) ;; # the stub, always there
      -l*) lib=lib${opt#-l}.so
           [[ -e $libdir/$lib ]] || missing+=" $lib" ;;
    esac
  done
  if [[ -n $missing ]]; then
    echo "SKIP $name (missing in $libdir:$missing)"
    continue
  fi
  # shellcheck disable=SC2086  # extra is a list of words on purpose
  "$nvcc" "${common[@]}" $extra -o "$out/$name" "$src/$file" >"$out/$name.build.log" 2>&1 &
  pids[$name]=$!
done
fails=0
for name in "${!pids[@]}"; do
  if wait "${pids[$name]}"; then
    echo "built $name"
  else
    echo "FAIL $name (see $out/$name.build.log)"
    fails=$((fails + 1))
  fi
done
exit $((fails != 0))
