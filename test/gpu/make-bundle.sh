#!/usr/bin/env bash
# make-bundle.sh BUILD_DIR OUT_DIR
#
# Runs on the build machine (Debian 12). Packs everything test/gpu/run.sh needs on the GPU machine
# (Ubuntu 24.04, CUDA 13 toolkit, no network, no yaml-cpp/boost/spdlog) into OUT_DIR:
#
#   OUT_DIR/bin/vgpud                the daemon
#   OUT_DIR/lib/*.so*                every shared library vgpud or the shim needs that is not part
#                                    of glibc / the GCC runtime (the GPU machine has newer ones)
#   OUT_DIR/shim/libcudart.so.13     the shim and the vgpu libraries it links (libvgpu-client.so.1,
#                                    and libcuda.so.1 once the runtime shim sits on the driver
#                                    shim), alone in their folder, so that putting the folder first
#                                    on LD_LIBRARY_PATH swaps the CUDA runtime and nothing else
#   OUT_DIR/driver/libcuda.so.1      the driver shim and its client, alone in their folder (with
#                                    the NVML shim, libnvidia-ml.so.1; bin/ has vgpu-smi)
#   OUT_DIR/programs/<name>          the test programs (test/gpu/programs/*.cu), built with nvcc
#   OUT_DIR/programs-driver/<name>   driver-API programs (test/gpu/programs-driver/*.cu: linked only
#                                    against libcuda.so.1, with their .cubin/.fatbin/.ptx beside
#                                    them), built by programs-driver/build.sh
#   OUT_DIR/hostile/<name>           run-hostile.sh's programs (test/gpu/hostile/*.cu), and
#   OUT_DIR/bin/vgpu-hostile-client  its misbehaving clients, when the build has the tests
#   OUT_DIR/bench/                   vgpu-bench and its case children (bench/), when built: the
#                                    CUDA child twice, -cudart shared and static (driver shim side)
#   OUT_DIR/MANIFEST                 what was packed, from which build, checksums
#
# OUT_DIR/samples/ is written by test/gpu/samples.sh (separately; see README.md) and left alone.
#
# Environment: NVCC (default /usr/local/cuda/bin/nvcc), NVCC_ARCH (default sm_90, the H100),
#              JOBS (parallel nvcc jobs, default nproc), KEEP_DEBUG=1 (do not strip debug info).
set -euo pipefail

usage() { echo "usage: $0 BUILD_DIR OUT_DIR" >&2; exit 2; }
[[ $# -eq 2 ]] || usage

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build=$(cd "$1" && pwd)
mkdir -p "$2"
out=$(cd "$2" && pwd)
nvcc=${NVCC:-/usr/local/cuda/bin/nvcc}
arch=${NVCC_ARCH:-sm_90}
jobs=${JOBS:-$(nproc)}

vgpud_bin="$build/vgpud/vgpud"
shim="$build/guest/lib/libcudart.so.13"
[[ -x "$vgpud_bin" ]] || { echo "error: $vgpud_bin not found or not executable (build vgpud first)" >&2; exit 1; }
[[ -e "$shim" ]] || { echo "error: $shim not found (build the guest shim first)" >&2; exit 1; }
[[ -x "$nvcc" ]] || { echo "error: nvcc not found at $nvcc (set NVCC)" >&2; exit 1; }

rm -rf "${out:?}/bin" "${out:?}/lib" "${out:?}/shim" "${out:?}/programs" "${out:?}/hostile" "${out:?}/bench"
mkdir -p "$out/bin" "$out/lib" "$out/shim" "$out/programs" "$out/hostile"

# --- binaries -----------------------------------------------------------------------------------
cp -L "$vgpud_bin" "$out/bin/vgpud"
cp -L "$shim" "$out/shim/libcudart.so.13"
# Every vgpu library the shim needs, beside it (its RUNPATH is $ORIGIN): the guest client, and the
# driver shim when the runtime shim is built on it.
cp -L "$(dirname "$shim")/libvgpu-client.so.1" "$out/shim/"
while read -r n; do
  if [[ -e "$(dirname "$shim")/$n" ]]; then cp -L "$(dirname "$shim")/$n" "$out/shim/"; fi
done < <(readelf -d "$shim" | sed -n 's/.*(NEEDED).*\[\(.*\)\]$/\1/p')
chmod 0755 "$out/bin/vgpud" "$out"/shim/*
# The driver shim (libcuda.so.1) and its client, alone in their folder, for the programs built
# the ordinary way (static runtime): run-driver.sh puts this folder on LD_LIBRARY_PATH.
rm -rf "${out:?}/driver" "${out:?}/programs-static"
mkdir -p "$out/driver" "$out/programs-static"
cp -L "$(dirname "$shim")/libcuda.so.1" "$(dirname "$shim")/libvgpu-client.so.1" "$out/driver/"
chmod 0755 "$out/driver/libcuda.so.1" "$out/driver/libvgpu-client.so.1"
# The NVML shim beside it (frameworks and nvidia-smi load libnvidia-ml.so.1 by that name), and the
# guest's own tool.
if [[ -e "$(dirname "$shim")/libnvidia-ml.so.1" ]]; then
  cp -L "$(dirname "$shim")/libnvidia-ml.so.1" "$out/driver/"
  chmod 0755 "$out/driver/libnvidia-ml.so.1"
fi
[[ -x "$build/guest/bin/vgpu-smi" ]] && cp -L "$build/guest/bin/vgpu-smi" "$out/bin/vgpu-smi"
# The misbehaving clients of run-hostile.sh, if this build has the tests.
hostile_client="$build/test/integration/vgpu-hostile-client"
[[ -x "$hostile_client" ]] && cp -L "$hostile_client" "$out/bin/vgpu-hostile-client"
# The benchmark harness and its children (bench/README.md), if this build has them.
bench_bins=()
if [[ -x "$build/bench/vgpu-bench" ]]; then
  mkdir -p "$out/bench"
  for b in vgpu-bench vgpu-bench-transport vgpu-bench-cuda vgpu-bench-cuda-static; do
    [[ -x "$build/bench/$b" ]] || { echo "error: $build/bench/$b not built" >&2; exit 1; }
    cp -L "$build/bench/$b" "$out/bench/$b"
    bench_bins+=("$out/bench/$b")
  done
fi
git -C "$here" rev-parse --short HEAD >"$out/COMMIT" 2>/dev/null || echo unknown >"$out/COMMIT"
if ! git -C "$here" diff --quiet HEAD 2>/dev/null; then sed -i 's/$/+changes/' "$out/COMMIT"; fi
# Debug information makes vgpud and the guest libraries large (the bundle travels with a 64 MiB
# limit; libcuda.so.1 and libvgpu-client.so.1 of a RelWithDebInfo build are 4 and 3 MB, 0.5 and
# 0.15 MB without); the symbol table stays, so backtraces still have names. KEEP_DEBUG=1 keeps
# everything.
if [[ "${KEEP_DEBUG:-0}" != 1 ]] && command -v strip >/dev/null; then
  strip --strip-debug "$out"/bin/* "$out"/shim/*.so.* "$out"/driver/*.so.* "${bench_bins[@]}"
fi

# --- shared libraries -----------------------------------------------------------------------------
# Everything ldd resolves (recursively, ldd already lists indirect dependencies) except glibc and the
# GCC runtime, which the GPU machine has in newer versions. libcuda.so.1 is loaded with dlopen at
# run time and is never listed. libstdc++ is skipped unless it comes from a non-system toolchain
# (the GPU machine's GCC 13/14 libstdc++ is newer than Debian 12's GCC 12 one).
skip_lib() {
  local name=$1 path=$2
  # Resolved inside the bundle itself (the shim's vgpu libraries beside it): already there.
  case "$path" in "$out"/*) return 0 ;; esac
  case "$name" in
    linux-vdso.so.*|ld-linux*.so.*|libc.so.*|libm.so.*|libpthread.so.*|libdl.so.*|librt.so.*|\
    libutil.so.*|libresolv.so.*|libgcc_s.so.*|libanl.so.*|libmvec.so.*)
      return 0 ;;
    libstdc++.so.*)
      case "$path" in /lib/*|/usr/lib/*|/lib64/*|/usr/lib64/*) return 0 ;; esac
      return 1 ;;
    libcuda.so.*|libcudart.so.*|libnvidia-*)
      echo "warning: $name ($path) is linked directly; it is not bundled" >&2
      return 0 ;;
  esac
  return 1
}

declare -A copied=()
# (vgpu-bench-cuda, like the test programs, needs only a CUDA runtime: the real one or the shim;
# vgpu-bench-cuda-static has NVIDIA's runtime inside and dlopens libcuda.so.1.)
for obj in "$out"/bin/* "$out/shim/libcudart.so.13" "${bench_bins[@]:0:2}"; do
  ldd_out=$(ldd "$obj") || { echo "error: ldd $obj failed" >&2; exit 1; }
  if grep -q "not found" <<<"$ldd_out"; then
    echo "error: $obj has unresolved libraries:" >&2
    grep "not found" <<<"$ldd_out" >&2
    exit 1
  fi
  while read -r name arrow path _; do
    [[ "$arrow" == "=>" && "$path" == /* ]] || continue
    skip_lib "$name" "$path" && continue
    [[ -n "${copied[$name]:-}" ]] && continue
    cp -L "$path" "$out/lib/$name"
    copied[$name]=$path
  done <<<"$ldd_out"
done

# The shim is loaded into every CUDA program. If it needs anything besides glibc, run.sh puts
# OUT_DIR/lib after OUT_DIR/shim on LD_LIBRARY_PATH, so say so here.
shim_deps=""
while read -r n; do
  [[ -n "${copied[$n]:-}" ]] && shim_deps+="$n "
done < <(ldd "$out/shim/libcudart.so.13" | awk '$2 == "=>" {print $1}')

# Newest glibc symbol version needed (the GPU machine has glibc 2.39).
max_glibc=$( { objdump -T "$out/bin/vgpud" "$out/shim/libcudart.so.13" "$out"/lib/*.so* 2>/dev/null || true; } |
  grep -o 'GLIBC_2\.[0-9]*' | sort -t. -k2,2n -u | tail -1)

# --- test programs ----------------------------------------------------------------------------------
progs=("$here"/programs/*.cu)
[[ ${#progs[@]} -gt 0 ]] || { echo "error: no programs in $here/programs" >&2; exit 1; }
build_one() {
  local src=$1 name dir
  name=$(basename "$src" .cu)
  dir=$out/$(basename "$(dirname "$src")")  # programs/ or hostile/
  if ! "$nvcc" -cudart shared -arch="$arch" -O2 -I "$here/programs" -o "$dir/$name" "$src" \
      >"$dir/.$name.log" 2>&1; then
    echo "error: nvcc failed for $name:" >&2
    cat "$dir/.$name.log" >&2
    return 1
  fi
  rm -f "$dir/.$name.log"
  # The test programs again, as nvcc builds them by default: NVIDIA's runtime linked in,
  # reaching the driver (vgpu's libcuda.so.1) through cuGetProcAddress.
  [[ "$dir" == "$out/programs" ]] || return 0
  if ! "$nvcc" -arch="$arch" -O2 -I "$here/programs" -o "$out/programs-static/$name" "$src" \
      >"$dir/.$name.static.log" 2>&1; then
    echo "error: nvcc (static runtime) failed for $name:" >&2
    cat "$dir/.$name.static.log" >&2
    return 1
  fi
  rm -f "$dir/.$name.static.log"
}
export -f build_one
export nvcc arch here out
# shellcheck disable=SC2016  # $1 expands in the child bash
printf '%s\n' "${progs[@]}" "$here"/hostile/*.cu | xargs -P "$jobs" -I{} bash -c 'build_one "$1"' _ {}
# Each static-runtime program carries NVIDIA's runtime and its symbol table (1 MB, 0.7 MB without);
# the symbols are not needed to run them, and the bundle travels with a 64 MiB limit.
if [[ "${KEEP_DEBUG:-0}" != 1 ]] && command -v strip >/dev/null; then
  strip "$out"/programs-static/*
fi

# --- driver-API programs ----------------------------------------------------------------------------
# programs-driver/*.cu: the driver API alone (no CUDA runtime), for run-driver.sh. Their companion
# files (NAME.cubin, NAME.fatbin, ...) lie beside them; the programs find them through /proc/self/exe.
rm -rf "${out:?}/programs-driver"
NVCC=$nvcc NVCC_ARCH=$arch JOBS=$jobs bash "$here/programs-driver/build.sh" "$out/programs-driver" >/dev/null
n_driver=$(find "$out/programs-driver" -maxdepth 1 -type f -perm -u+x | wc -l)

# --- manifest -------------------------------------------------------------------------------------
{
  echo "bundle made $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(hostname) from $build"
  echo "nvcc: $("$nvcc" --version | tail -1)"
  echo "arch: $arch"
  echo "max GLIBC version needed: ${max_glibc:-none}"
  echo "shim non-glibc dependencies: ${shim_deps:-none}"
  echo "libraries:"
  for n in "${!copied[@]}"; do echo "  $n <- ${copied[$n]}"; done | sort
  echo "sha256:"
  # shellcheck disable=SC2046  # bench/ only when built; the names have no spaces
  (cd "$out" && find bin shim lib programs programs-driver hostile $([[ -d bench ]] && echo bench) -type f ! -name '.*' -print0 | sort -z | xargs -0 sha256sum | sed 's/^/  /')
} >"$out/MANIFEST"

echo "bundle ready in $out:"
echo "  vgpud, shim, ${#copied[@]} libraries, ${#progs[@]} programs, $n_driver driver-API programs; max GLIBC ${max_glibc:-none}"
[[ -n "$shim_deps" ]] && echo "  note: the shim needs $shim_deps (taken from $out/lib)"
du -sh "$out" | awk '{print "  size: " $1}'
