#!/usr/bin/env bash
# samples.sh SAMPLES_SRC OUT_DIR
#     Builds the chosen NVIDIA cuda-samples from a cuda-samples source tree (a checkout, or an
#     export made with --export) into OUT_DIR/samples/<name>, with the same flags as the test
#     programs (nvcc -cudart shared -arch=sm_90 -O2, include path Common/). OUT_DIR is the bundle
#     (see make-bundle.sh); run.sh then runs every binary in BUNDLE/samples natively and through
#     vgpu and compares them.
#
# samples.sh --export GIT_DIR DEST
#     Writes only the files those samples need (their sources, Common/*.h, LICENSE) from the HEAD
#     of a cuda-samples git repository (bare is fine, e.g. a mirror) into DEST. The sources stay
#     outside the repository (DEST is meant to be .device/cuda-samples, which is git-ignored);
#     nothing of cuda-samples is ever committed to vgpu.
#
# The samples were chosen because they use only CUDA runtime calls the shim implements (checked
# with `nm -D --undefined-only`), need no data files or extra libraries, and check their own
# results:
#   vectorAdd               cudaMalloc/cudaMemcpy/<<<>>>, the canonical first program
#   simpleTemplates         templated kernels (float, int) with dynamic shared memory, helper_cuda
#                           device selection (cudaGetDeviceProperties/cudaDeviceGetAttribute)
#   simpleAtomicIntrinsics  every integer atomic; cudaHostAlloc memory, cudaMemcpyAsync on a
#                           non-blocking stream
#   simpleVoteIntrinsics    warp vote functions (__any_sync/__all_sync), several kernels
#   mergeSort               a multi-file C++/CUDA program (5 translation units, 2 with kernels)
#   simpleHyperQ            32 streams, events on the legacy default stream, implicit legacy-stream
#                           synchronisation, cudaMallocHost
# Left out (they call runtime functions outside the shim's list): asyncAPI and matrixMul
# (cudaProfilerStart/Stop), simpleStreams (cudaHostRegister, cudaSetDeviceFlags),
# simpleOccupancy (cudaOccupancyMaxActiveBlocksPerMultiprocessorWithFlags), simpleCallback
# (stream callbacks), simpleZeroCopy (mapped memory). clock, template and simpleMultiCopy would
# also qualify.
#
# Environment: NVCC (default /usr/local/cuda/bin/nvcc), NVCC_ARCH (default sm_90).
set -euo pipefail

# name|folder|sources (relative to the folder)
SAMPLES=(
  "vectorAdd|Samples/0_Introduction/vectorAdd|vectorAdd.cu"
  "simpleTemplates|Samples/0_Introduction/simpleTemplates|simpleTemplates.cu"
  "simpleAtomicIntrinsics|Samples/0_Introduction/simpleAtomicIntrinsics|simpleAtomicIntrinsics.cu simpleAtomicIntrinsics_cpu.cpp"
  "simpleVoteIntrinsics|Samples/0_Introduction/simpleVoteIntrinsics|simpleVoteIntrinsics.cu"
  "mergeSort|Samples/0_Introduction/mergeSort|bitonic.cu main.cpp mergeSort.cu mergeSort_host.cpp mergeSort_validate.cpp"
  "simpleHyperQ|Samples/0_Introduction/simpleHyperQ|simpleHyperQ.cu"
)

usage() {
  echo "usage: $0 SAMPLES_SRC OUT_DIR" >&2
  echo "       $0 --export GIT_DIR DEST" >&2
  exit 2
}

export_sources() {
  local git_dir=$1 dest=$2 entry folder f
  git --git-dir="$git_dir" rev-parse --verify -q HEAD >/dev/null || {
    echo "error: $git_dir is not a git repository with a HEAD" >&2
    exit 1
  }
  mkdir -p "$dest"
  local -a files=(LICENSE)
  while IFS= read -r f; do files+=("$f"); done < <(git --git-dir="$git_dir" ls-tree --name-only HEAD Common/ | grep -E '\.(h|hpp|cuh)$')
  for entry in "${SAMPLES[@]}"; do
    IFS='|' read -r _ folder _ <<<"$entry"
    while IFS= read -r f; do files+=("$f"); done < <(git --git-dir="$git_dir" ls-tree -r --name-only HEAD "$folder/" | grep -E '\.(cu|cuh|cpp|h)$')
  done
  for f in "${files[@]}"; do
    mkdir -p "$dest/$(dirname "$f")"
    git --git-dir="$git_dir" show "HEAD:$f" >"$dest/$f"
  done
  git --git-dir="$git_dir" rev-parse HEAD >"$dest/COMMIT"
  echo "exported ${#files[@]} files of cuda-samples $(cat "$dest/COMMIT") into $dest"
}

build_samples() {
  local src out nvcc arch entry name folder sources s
  src=$(cd "$1" && pwd)
  mkdir -p "$2"
  out=$(cd "$2" && pwd)/samples
  nvcc=${NVCC:-/usr/local/cuda/bin/nvcc}
  arch=${NVCC_ARCH:-sm_90}
  [[ -d "$src/Common" ]] || { echo "error: $src/Common not found (not a cuda-samples tree?)" >&2; exit 1; }
  [[ -x "$nvcc" ]] || { echo "error: nvcc not found at $nvcc (set NVCC)" >&2; exit 1; }
  rm -rf "$out"
  mkdir -p "$out"
  local failed=0
  for entry in "${SAMPLES[@]}"; do
    IFS='|' read -r name folder sources <<<"$entry"
    local -a paths=()
    for s in $sources; do paths+=("$src/$folder/$s"); done
    if "$nvcc" -cudart shared -arch="$arch" -O2 -I "$src/Common" -I "$src/$folder" -o "$out/$name" "${paths[@]}" \
        >"$out/.$name.log" 2>&1; then
      rm -f "$out/.$name.log"
      echo "built $name"
    else
      echo "error: building $name failed:" >&2
      cat "$out/.$name.log" >&2
      failed=1
    fi
  done
  [[ -f "$src/COMMIT" ]] && cp "$src/COMMIT" "$out/.cuda-samples-commit"
  return "$failed"
}

if [[ "${1:-}" == --export ]]; then
  [[ $# -eq 3 ]] || usage
  export_sources "$2" "$3"
else
  [[ $# -eq 2 ]] || usage
  build_samples "$1" "$2"
fi
