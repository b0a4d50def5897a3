#!/usr/bin/env bash
# samples.sh SAMPLES_SRC OUT_DIR
#     Builds the shared-runtime list (SAMPLES below) from a cuda-samples source tree (a checkout,
#     or an export made with --export) into OUT_DIR/samples/<name>, with the same flags as the
#     test programs (nvcc -cudart shared -arch=sm_90 -O2, include path Common/). OUT_DIR is the
#     bundle (see make-bundle.sh); run.sh then runs every binary in BUNDLE/samples natively and
#     through vgpu and compares them.
#
# samples.sh --static SAMPLES_SRC OUT_DIR
#     Builds the static-runtime list (STATIC_SAMPLES below) into OUT_DIR/samples-static/<name>,
#     the ordinary way: nvcc -arch=sm_90 -O2 -I Common, nvcc's default static cudart (no
#     -cudart shared), the math libraries and libcuda linked as the sample's CMakeLists.txt does.
#     These are for the driver shim (vgpu's libcuda.so.1; run-driver.sh with EXTRA_DIR). Files a
#     sample opens at run time (fatbins and PTX generated here from the sample's kernel source,
#     NVRTC kernel sources, .mtx/.pgm data, the toolkit headers matrixMul_nvrtc compiles against)
#     are put in the same folder. The samples find them with sdkFindFilePath, which looks in
#     "./" and "./data/" relative to the CURRENT DIRECTORY, so run each sample with its folder as
#     the working directory: (cd OUT_DIR/samples-static && ./NAME). Invoke it the same way in
#     both runs: several samples print argv[0].
#     The samples that link cuBLAS, cuFFT, ... are too big for the bundle, so this mode is meant
#     to run on the GPU machine from an export (--export), e.g. into $OUT or a work folder.
#     Builds run in parallel (NVCC_JOBS, default nproc). A sample that fails to build is reported
#     (name and its first error lines) and left out; the others are still built, and the exit code
#     is 0. The names of the failed ones are written to OUT_DIR/samples-static/.build-failed.
#     SAMPLES_ONLY="a b" builds only these names; --list-static prints the names.
#
# samples.sh --export GIT_DIR DEST
#     Writes only the files both lists need (each chosen sample's folder without .vscode/, doc/
#     and README.md; Common/*.h; LICENSE) from the HEAD of a cuda-samples git repository (bare is
#     fine, e.g. a mirror) into DEST. The sources stay outside the repository (DEST is meant to be
#     .device/cuda-samples, which is git-ignored); nothing of cuda-samples is ever committed to
#     vgpu.
#
# Shared-runtime list. The samples were chosen because they use only CUDA runtime calls the shim
# implements (checked with `nm -D --undefined-only`), need no data files or extra libraries, and
# check their own results:
#   vectorAdd               cudaMalloc/cudaMemcpy/<<<>>>, the canonical first program
#   simpleTemplates         templated kernels (float, int) with dynamic shared memory, helper_cuda
#                           device selection (cudaGetDeviceProperties/cudaDeviceGetAttribute)
#   simpleAtomicIntrinsics  every integer atomic; cudaHostAlloc memory, cudaMemcpyAsync on a
#                           non-blocking stream
#   simpleVoteIntrinsics    warp vote functions (__any_sync/__all_sync), several kernels
#   mergeSort               a multi-file C++/CUDA program (5 translation units, 2 with kernels)
#   simpleHyperQ            32 streams, events on the legacy default stream, implicit legacy-stream
#                           synchronisation, cudaMallocHost
#   simpleIPC               cudaIpc* between the process and a child it forks and execs (one per
#                           GPU): memory and interprocess events; prints two lines with a pid
#                           (samples-static.txt filters them)
# Left out (they call runtime functions outside the shim's list): asyncAPI and matrixMul
# (cudaProfilerStart/Stop), simpleStreams (cudaHostRegister, cudaSetDeviceFlags),
# simpleOccupancy (cudaOccupancyMaxActiveBlocksPerMultiprocessorWithFlags), simpleCallback
# (stream callbacks), simpleZeroCopy (mapped memory). clock, template and simpleMultiCopy would
# also qualify.
#
# Static-runtime list (--static): 61 samples, no OpenGL/EGL/Vulkan/display, no MPI/OpenMP, one
# process (but simpleIPC and memMapIPCDrv, which exec a child per GPU), one GPU (simpleCUBLASXT and vectorAddMMAP use every visible GPU, one is enough), each a
# few seconds. [T] = prints timing or performance numbers (the lines are listed in
# samples-static.txt for a filter); [F] = needs files next to it at run time (generated or
# copied by --static); libraries other than the static cudart in parentheses.
#  Introduction, runtime API:
#   vectorAdd                    cudaMalloc/cudaMemcpy/<<<>>>
#   simpleTemplates          [T] templated kernels, dynamic shared memory
#   simpleAtomicIntrinsics   [T] every integer atomic, cudaHostAlloc, async copies on a stream
#   simpleVoteIntrinsics         warp vote functions
#   mergeSort                [T] 5 translation units, cooperative groups
#   simpleHyperQ             [T] 32 streams, events on the legacy stream
#   template                 [T] the minimal template program, a host-side check
#   matrixMul                [T] shared-memory tiled GEMM, cudaProfilerStart/Stop, events
#   simpleOccupancy          [T] cudaOccupancyMaxPotentialBlockSize (...WithFlags inside) and
#                                ...MaxActiveBlocksPerMultiprocessor
#   simpleCallback               stream callbacks (cudaStreamAddCallback) from several host threads
#   simpleZeroCopy               cudaSetDeviceFlags(MapHost), mapped pinned memory
#   simpleAttributes         [T] stream access-policy-window attributes, L2 persisting limit
#   simpleCooperativeGroups      thread-block and tiled-partition groups, device printf
#   simpleAWBarrier              cudaLaunchCooperativeKernel, cuda::barrier (arrive/wait)
#   simpleTexture            [T][F] texture object on a cudaArray (teapot512.pgm, ref_rotated.pgm)
#   simpleSurfaceWrite       [T][F] a surface object written by a kernel, then sampled as a texture
#   simpleLayeredTexture     [T] a layered 2D array texture
#   simpleCubemapTexture     [T] a cubemap array texture
#   deviceQuery                  every cudaDeviceProp field, driver and runtime versions
#  Driver API (libcuda):
#   deviceQueryDrv               cuDeviceGetAttribute for every attribute, cuDeviceGetName, ...
#   vectorAddDrv             [F] cuModuleLoadData of a fatbin, cuLaunchKernel with params and
#                                with a packed argument buffer (vectorAdd_kernel64.fatbin)
#   matrixMulDrv             [T][F] cuModuleLoadData, cuMemAlloc/cuMemcpy, block-size variants
#                                (matrixMul_kernel64.fatbin)
#   simpleDrvRuntime         [F] driver-API module and launch mixed with runtime-API memory and
#                                streams (vectorAdd_kernel64.fatbin)
#   vectorAddMMAP            [F] virtual memory management: cuMemCreate/cuMemAddressReserve/
#                                cuMemMap/cuMemSetAccess (vectorAdd_kernel64.fatbin)
#   simpleTextureDrv         [T][F] cuTexObjectCreate on a CUarray (simpleTexture_kernel64.fatbin,
#                                teapot512.pgm, ref_rotated.pgm)
#   matrixMulDynlinkJIT          dlopen("libcuda.so.1") and dlsym of every entry point (no link
#                                to libcuda), PTX JIT (cuModuleLoadDataEx) of PTX embedded in the
#                                binary (libdl)
#   ptxjit                   [T][F] cuLinkCreate/AddData/Complete of PTX, then a runtime launch of
#                                the linked kernel (ptxjit_kernel64.ptx)
#  NVRTC (libnvrtc + libcuda):
#   vectorAdd_nvrtc          [F] compile at run time, cuModuleLoadData of the cubin
#                                (vectorAdd_kernel.cu)
#   matrixMul_nvrtc          [F] NVRTC with cooperative_groups headers (matrixMul_kernel.cu; the
#                                toolkit's cooperative_groups.h, cooperative_groups/, nv/, cuda/)
#   clock_nvrtc              [T][F] clock() in a kernel (clock_kernel.cu); clocks/block vary
#   simpleAtomicIntrinsics_nvrtc [T][F] atomics compiled by NVRTC
#                                (simpleAtomicIntrinsics_kernel.cuh)
#   simpleAssert_nvrtc       [F] a device assert: cuCtxSynchronize must return
#                                CUDA_ERROR_ASSERT (simpleAssert_kernel.cu; the assert messages
#                                go to stderr, in no fixed order)
#   inlinePTX_nvrtc          [F] inline PTX through NVRTC (inlinePTX_kernel.cu)
#   BlackScholes_nvrtc       [T][F] (BlackScholes_kernel.cuh)
#   binomialOptions_nvrtc    [T][F] (binomialOptions_kernel.cu, its 3 headers)
#   quasirandomGenerator_nvrtc [T][F] two kernels, constant memory via cuModuleGetGlobal
#                                (quasirandomGenerator_kernel.cu, its 2 headers)
#   jitLto                       NVRTC -dlto to LTO-IR, nvJitLink, cuModuleLoadData (libnvJitLink)
#  cuBLAS (libcublas, libcublasLt):
#   simpleCUBLAS                 cublasSgemm against a host GEMM
#   matrixMulCUBLAS          [T] cublasSgemm, events
#   batchCUBLAS              [T] [SDCZ]gemm single, on streams, and gemmBatched
#   simpleCUBLAS_LU              cublas[SD]getrfBatched
#   simpleCUBLASXT               cublasXt multi-GPU GEMM on host memory (uses every visible GPU)
#  cuFFT (libcufft):
#   simpleCUFFT                  1D C2C plan, forward/inverse, a pointwise kernel
#   convolutionFFT2D         [T] R2C/C2R and C2C 2D plans, padding kernels
#  cuRAND (libcurand, or the device API in headers):
#   MersenneTwisterGP11213   [T] curandGenerateNormal (MTGP32) against the host generator
#   MC_EstimatePiP           [T] pseudo-random host API (curandGenerateUniform)
#   MC_EstimatePiQ           [T] quasi-random host API (Sobol32)
#   MC_SingleAsianOptionP    [T] curand_kernel.h device API (curand_init/curand_normal), no
#                                library
#  cuSOLVER (libcusolver, libcublas, libcusparse):
#   cuSolverDn_LinearSolver  [T][F] dense Cholesky (cusolverDnDpotrf/potrs) (gr_900_900_crg.mtx)
#   cuSolverSp_LinearSolver  [T][F] sparse Cholesky, host and device paths (lap2D_5pt_n100.mtx)
#   cuSolverSp_LowlevelCholesky [F] csrchol low-level API, host and device (lap2D_5pt_n100.mtx)
#   cuSolverSp_LowlevelQR    [F] csrqr low-level API, host and device (lap2D_5pt_n32.mtx)
#   cuSolverRf               [T][F] cusolverSp LU on the host, cusolverRf refactorisation on the
#                                GPU (lap2D_5pt_n100.mtx)
#  cuSPARSE (libcusparse, libcublas):
#   conjugateGradient            CG with cusparseSpMV and cublas dot/axpy
#   conjugateGradientPrecond     CG with ILU(0) preconditioning (cusparseSpSV)
#   conjugateGradientCudaGraphs  CG captured into a CUDA graph (stream capture of cuBLAS/cuSPARSE)
#   conjugateGradientUM          CG on cudaMallocManaged memory
#  CUDA features:
#   simpleCudaGraphs             graphs built by hand and by stream capture, host nodes, exec
#                                update, cloning
#   simpleIPC                    cudaIpc* memory and events shared with a child process it execs
#                                (Common/helper_multiprocess.cpp)
#   memMapIPCDrv             [F] cuMemCreate memory shared with a child it execs: POSIX file
#                                descriptors from cuMemExportToShareableHandle over a UNIX socket
#                                (SCM_RIGHTS), cuMemImportFromShareableHandle, cuMemMap
#                                (memMapIpc_kernel64.ptx)
#   inlinePTX                    inline PTX (%laneid) in a runtime-API kernel
#   graphMemoryNodes             graph memory nodes built by hand and captured
#                                (cudaMallocAsync/cudaFreeAsync), freed inside, outside and in
#                                another graph; cudaMallocManaged (seeded with time(), but prints
#                                only whether each result validates)
#   jacobiCudaGraphs         [T] a captured Jacobi iteration whose kernel node's parameters are set
#                                in the executable graph each round (cudaGraphExecKernelNodeSetParams)
#   streamOrderedAllocation  [T] cudaMallocAsync/cudaFreeAsync, a pool's release threshold
# Deliberately left out: clock (prints only a clock count that varies), asyncAPI (prints a busy-
# loop count), fp16ScalarProduct and UnifiedMemoryStreams (seeded with time()), simplePrintf
# (device printf from many blocks, order not fixed), conjugateGradientMultiBlockCG (float atomics
# and a kernel time), simpleCUFFT_callback (static cuFFT with separate compilation),
# simpleTemplates_nvrtc and simpleVoteIntrinsics_nvrtc (removed from cuda-samples), the *NPP,
# nvJPEG, GL, EGL, Vulkan, MPI, OpenMP and P2P samples. All of the chosen samples run on
# sm_90 (simpleAWBarrier needs sm_70+ and cooperative launch; the others sm_75 or less), and none
# needs a second GPU.
#
# Environment: NVCC (default /usr/local/cuda/bin/nvcc), NVCC_ARCH (default sm_90), NVCC_JOBS
# (--static: parallel builds, default nproc), SAMPLES_ONLY (--static: a subset, by name).
set -euo pipefail

# name|folder|sources (relative to the folder)
SAMPLES=(
  "vectorAdd|Samples/0_Introduction/vectorAdd|vectorAdd.cu"
  "simpleTemplates|Samples/0_Introduction/simpleTemplates|simpleTemplates.cu"
  "simpleAtomicIntrinsics|Samples/0_Introduction/simpleAtomicIntrinsics|simpleAtomicIntrinsics.cu simpleAtomicIntrinsics_cpu.cpp"
  "simpleVoteIntrinsics|Samples/0_Introduction/simpleVoteIntrinsics|simpleVoteIntrinsics.cu"
  "mergeSort|Samples/0_Introduction/mergeSort|bitonic.cu main.cpp mergeSort.cu mergeSort_host.cpp mergeSort_validate.cpp"
  "simpleHyperQ|Samples/0_Introduction/simpleHyperQ|simpleHyperQ.cu"
  "simpleIPC|Samples/0_Introduction/simpleIPC|simpleIPC.cu ../../../Common/helper_multiprocess.cpp"
)

# name|folder|sources (relative to the folder)|more nvcc flags and libraries (% = the folder)|
# files needed at run time, put next to the binary:
#   K.cu>F.fatbin   nvcc -fatbin of the sample's K.cu (same -arch), written as F
#   K.cu>F.ptx      nvcc -ptx of the sample's K.cu, written as F
#   @cg-headers     the toolkit's cooperative_groups.h, cooperative_groups/, cccl/nv and cccl/cuda
#   PATH            the sample's file PATH, copied as its base name
I=Samples/0_Introduction
L=Samples/4_CUDA_Libraries
STATIC_SAMPLES=(
  # Introduction, runtime API
  "vectorAdd|$I/vectorAdd|vectorAdd.cu||"
  "simpleTemplates|$I/simpleTemplates|simpleTemplates.cu||"
  "simpleAtomicIntrinsics|$I/simpleAtomicIntrinsics|simpleAtomicIntrinsics.cu simpleAtomicIntrinsics_cpu.cpp||"
  "simpleVoteIntrinsics|$I/simpleVoteIntrinsics|simpleVoteIntrinsics.cu||"
  "mergeSort|$I/mergeSort|bitonic.cu main.cpp mergeSort.cu mergeSort_host.cpp mergeSort_validate.cpp||"
  "simpleHyperQ|$I/simpleHyperQ|simpleHyperQ.cu||"
  "template|$I/template|template.cu template_cpu.cpp||"
  "matrixMul|$I/matrixMul|matrixMul.cu||"
  "simpleOccupancy|$I/simpleOccupancy|simpleOccupancy.cu||"
  "simpleCallback|$I/simpleCallback|simpleCallback.cu multithreading.cpp||"
  "simpleZeroCopy|$I/simpleZeroCopy|simpleZeroCopy.cu||"
  "simpleAttributes|$I/simpleAttributes|simpleAttributes.cu||"
  "simpleCooperativeGroups|$I/simpleCooperativeGroups|simpleCooperativeGroups.cu||"
  "simpleAWBarrier|$I/simpleAWBarrier|simpleAWBarrier.cu||"
  "simpleTexture|$I/simpleTexture|simpleTexture.cu||data/teapot512.pgm data/ref_rotated.pgm"
  "simpleSurfaceWrite|$I/simpleSurfaceWrite|simpleSurfaceWrite.cu||data/teapot512.pgm data/ref_rotated.pgm"
  "simpleLayeredTexture|$I/simpleLayeredTexture|simpleLayeredTexture.cu||"
  "simpleCubemapTexture|$I/simpleCubemapTexture|simpleCubemapTexture.cu||"
  "deviceQuery|Samples/1_Utilities/deviceQuery|deviceQuery.cpp||"
  # Driver API
  "deviceQueryDrv|Samples/1_Utilities/deviceQueryDrv|deviceQueryDrv.cpp|-lcuda|"
  "vectorAddDrv|$I/vectorAddDrv|vectorAddDrv.cpp|-lcuda|vectorAdd_kernel.cu>vectorAdd_kernel64.fatbin"
  "matrixMulDrv|$I/matrixMulDrv|matrixMulDrv.cpp|-lcuda|matrixMul_kernel.cu>matrixMul_kernel64.fatbin"
  "simpleDrvRuntime|$I/simpleDrvRuntime|simpleDrvRuntime.cpp|-lcuda|vectorAdd_kernel.cu>vectorAdd_kernel64.fatbin"
  "vectorAddMMAP|$I/vectorAddMMAP|vectorAddMMAP.cpp multidevicealloc_memmap.cpp|-lcuda|vectorAdd_kernel.cu>vectorAdd_kernel64.fatbin"
  "simpleTextureDrv|$I/simpleTextureDrv|simpleTextureDrv.cpp|-lcuda|simpleTexture_kernel.cu>simpleTexture_kernel64.fatbin data/teapot512.pgm data/ref_rotated.pgm"
  "matrixMulDynlinkJIT|$I/matrixMulDynlinkJIT|cuda_drvapi_dynlink.c matrixMulDynlinkJIT.cpp matrixMul_gold.cpp matrixMul_kernel_32_ptxdump.c matrixMul_kernel_64_ptxdump.c|-ldl|"
  "ptxjit|Samples/3_CUDA_Features/ptxjit|ptxjit.cpp|-lcuda|ptxjit_kernel.cu>ptxjit_kernel64.ptx"
  # NVRTC
  "vectorAdd_nvrtc|$I/vectorAdd_nvrtc|vectorAdd.cpp|-lnvrtc -lcuda|vectorAdd_kernel.cu"
  "matrixMul_nvrtc|$I/matrixMul_nvrtc|matrixMul.cpp|-lnvrtc -lcuda|matrixMul_kernel.cu @cg-headers"
  "clock_nvrtc|$I/clock_nvrtc|clock.cpp|-lnvrtc -lcuda|clock_kernel.cu"
  "simpleAtomicIntrinsics_nvrtc|$I/simpleAtomicIntrinsics_nvrtc|simpleAtomicIntrinsics.cpp simpleAtomicIntrinsics_cpu.cpp|-lnvrtc -lcuda|simpleAtomicIntrinsics_kernel.cuh"
  "simpleAssert_nvrtc|$I/simpleAssert_nvrtc|simpleAssert.cpp|-lnvrtc -lcuda|simpleAssert_kernel.cu"
  "inlinePTX_nvrtc|Samples/2_Concepts_and_Techniques/inlinePTX_nvrtc|inlinePTX.cpp|-lnvrtc -lcuda|inlinePTX_kernel.cu"
  "BlackScholes_nvrtc|Samples/5_Domain_Specific/BlackScholes_nvrtc|BlackScholes.cpp BlackScholes_gold.cpp|-lnvrtc -lcuda|BlackScholes_kernel.cuh"
  "binomialOptions_nvrtc|Samples/5_Domain_Specific/binomialOptions_nvrtc|binomialOptions.cpp binomialOptions_gold.cpp binomialOptions_gpu.cpp|-lnvrtc -lcuda|binomialOptions_kernel.cu common_gpu_header.h binomialOptions_common.h realtype.h"
  "quasirandomGenerator_nvrtc|Samples/5_Domain_Specific/quasirandomGenerator_nvrtc|quasirandomGenerator.cpp quasirandomGenerator_gold.cpp|-lnvrtc -lcuda|quasirandomGenerator_kernel.cu quasirandomGenerator_gpu.cuh quasirandomGenerator_common.h"
  "jitLto|$L/jitLto|jitLto.cpp|-lnvrtc -lnvJitLink -lcuda|"
  # cuBLAS
  "simpleCUBLAS|$L/simpleCUBLAS|simpleCUBLAS.cpp|-lcublas|"
  "matrixMulCUBLAS|$L/matrixMulCUBLAS|matrixMulCUBLAS.cpp|-lcublas|"
  "batchCUBLAS|$L/batchCUBLAS|batchCUBLAS.cpp|-lcublas|"
  "simpleCUBLAS_LU|$L/simpleCUBLAS_LU|simpleCUBLAS_LU.cpp|-lcublas|"
  "simpleCUBLASXT|$L/simpleCUBLASXT|simpleCUBLASXT.cpp|-lcublas|"
  # cuFFT
  "simpleCUFFT|$L/simpleCUFFT|simpleCUFFT.cu|-lcufft|"
  "convolutionFFT2D|Samples/5_Domain_Specific/convolutionFFT2D|convolutionFFT2D.cu convolutionFFT2D_gold.cpp main.cpp|-lcufft|"
  # cuRAND
  "MersenneTwisterGP11213|$L/MersenneTwisterGP11213|MersenneTwister.cpp|-lcurand|"
  "MC_EstimatePiP|Samples/2_Concepts_and_Techniques/MC_EstimatePiP|src/main.cpp src/piestimator.cu src/test.cpp|-I%/inc -lcurand|"
  "MC_EstimatePiQ|Samples/2_Concepts_and_Techniques/MC_EstimatePiQ|src/main.cpp src/piestimator.cu src/test.cpp|-I%/inc -lcurand|"
  "MC_SingleAsianOptionP|Samples/2_Concepts_and_Techniques/MC_SingleAsianOptionP|src/main.cpp src/pricingengine.cu src/test.cpp|-I%/inc|"
  # cuSOLVER
  "cuSolverDn_LinearSolver|$L/cuSolverDn_LinearSolver|cuSolverDn_LinearSolver.cpp mmio.c mmio_wrapper.cpp|-lcusolver -lcublas -lcusparse|gr_900_900_crg.mtx"
  "cuSolverSp_LinearSolver|$L/cuSolverSp_LinearSolver|cuSolverSp_LinearSolver.cpp mmio.c mmio_wrapper.cpp|-lcusolver -lcublas -lcusparse|lap2D_5pt_n100.mtx"
  "cuSolverSp_LowlevelCholesky|$L/cuSolverSp_LowlevelCholesky|cuSolverSp_LowlevelCholesky.cpp mmio.c mmio_wrapper.cpp|-lcusolver -lcublas -lcusparse|lap2D_5pt_n100.mtx"
  "cuSolverSp_LowlevelQR|$L/cuSolverSp_LowlevelQR|cuSolverSp_LowlevelQR.cpp mmio.c mmio_wrapper.cpp|-lcusolver -lcublas -lcusparse|lap2D_5pt_n32.mtx"
  "cuSolverRf|$L/cuSolverRf|cuSolverRf.cpp mmio.c mmio_wrapper.cpp|-lcusolver -lcublas -lcusparse|lap2D_5pt_n100.mtx"
  # cuSPARSE
  "conjugateGradient|$L/conjugateGradient|main.cpp|-lcusparse -lcublas|"
  "conjugateGradientPrecond|$L/conjugateGradientPrecond|main.cpp|-lcusparse -lcublas|"
  "conjugateGradientCudaGraphs|$L/conjugateGradientCudaGraphs|conjugateGradientCudaGraphs.cu|-lcusparse -lcublas|"
  "conjugateGradientUM|$L/conjugateGradientUM|main.cpp|-lcusparse -lcublas|"
  # CUDA features
  "simpleCudaGraphs|Samples/3_CUDA_Features/simpleCudaGraphs|simpleCudaGraphs.cu||"
  "inlinePTX|Samples/2_Concepts_and_Techniques/inlinePTX|inlinePTX.cu||"
  "graphMemoryNodes|Samples/3_CUDA_Features/graphMemoryNodes|graphMemoryNodes.cu||"
  "jacobiCudaGraphs|Samples/3_CUDA_Features/jacobiCudaGraphs|jacobi.cu main.cpp||"
  "streamOrderedAllocation|Samples/2_Concepts_and_Techniques/streamOrderedAllocation|streamOrderedAllocation.cu||"
  "simpleIPC|$I/simpleIPC|simpleIPC.cu ../../../Common/helper_multiprocess.cpp||"
  "memMapIPCDrv|Samples/3_CUDA_Features/memMapIPCDrv|memMapIpc.cpp ../../../Common/helper_multiprocess.cpp|-lcuda|memMapIpc_kernel.cu>memMapIpc_kernel64.ptx"
)
unset I L

usage() {
  echo "usage: $0 SAMPLES_SRC OUT_DIR" >&2
  echo "       $0 --static SAMPLES_SRC OUT_DIR" >&2
  echo "       $0 --export GIT_DIR DEST" >&2
  echo "       $0 --list-static" >&2
  exit 2
}

export_sources() {
  local git_dir=$1 dest=$2 entry folder f
  git --git-dir="$git_dir" rev-parse --verify -q HEAD >/dev/null || {
    echo "error: $git_dir is not a git repository with a HEAD" >&2
    exit 1
  }
  mkdir -p "$dest"
  # helper_multiprocess.cpp: simpleIPC's process helpers, compiled into it.
  local -a files=(LICENSE Common/helper_multiprocess.cpp) folders=()
  while IFS= read -r f; do files+=("$f"); done < <(git --git-dir="$git_dir" ls-tree --name-only HEAD Common/ | grep -E '\.(h|hpp|cuh)$')
  for entry in "${SAMPLES[@]}" "${STATIC_SAMPLES[@]}"; do
    IFS='|' read -r _ folder _ <<<"$entry"
    folders+=("$folder/")
  done
  # Each folder once (several samples share none today, but the shared list repeats the static one).
  while IFS= read -r f; do files+=("$f"); done < <(
    git --git-dir="$git_dir" ls-tree -r --name-only HEAD "${folders[@]}" | sort -u |
      grep -vE '/(\.vscode|doc)/|/README\.md$|/CMakeLists\.txt$|/Makefile$')
  for f in "${files[@]}"; do
    mkdir -p "$dest/$(dirname "$f")"
    git --git-dir="$git_dir" show "HEAD:$f" >"$dest/$f"
  done
  # Every sample source must be there (a sample renamed or removed upstream shows up here).
  local name sources s missing=0
  for entry in "${SAMPLES[@]}" "${STATIC_SAMPLES[@]}"; do
    IFS='|' read -r name folder sources _ <<<"$entry"
    for s in $sources; do
      [[ -f "$dest/$folder/$s" ]] || { echo "error: $name: $folder/$s is not in $git_dir" >&2; missing=1; }
    done
  done
  git --git-dir="$git_dir" rev-parse HEAD >"$dest/COMMIT"
  echo "exported ${#files[@]} files of cuda-samples $(cat "$dest/COMMIT") into $dest"
  return "$missing"
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

# build_static_one SRC WORK NVCC ARCH CUDA_HOME ENTRY: builds one static-list entry into
# WORK/NAME/ (the binary, and its run-time files under WORK/NAME/files/); the log is WORK/NAME.log.
# Exit code 0 when everything was made.
build_static_one() {
  local src=$1 work=$2 nvcc=$3 arch=$4 cuda=$5 entry=$6
  local name folder sources flags files s f k dir
  IFS='|' read -r name folder sources flags files <<<"$entry"
  dir=$work/$name
  mkdir -p "$dir/files"
  {
    local -a paths=() extra=()
    for s in $sources; do paths+=("$src/$folder/$s"); done
    local pct='%'
    for f in $flags; do extra+=("${f//"$pct"/$src/$folder}"); done
    [[ " $flags " == *" -lcuda "* ]] && extra+=("-L$cuda/lib64/stubs")
    echo "+ nvcc -arch=$arch -O2 -I Common -I $folder ${sources} ${flags}"
    "$nvcc" -arch="$arch" -O2 -I "$src/Common" -I "$src/$folder" -o "$dir/$name" "${paths[@]}" "${extra[@]}" || return 1
    for f in $files; do
      case $f in
        *'>'*.fatbin|*'>'*.ptx)
          k=${f%%>*}
          echo "+ nvcc -arch=$arch -${f##*.} $k -o ${f#*>}"
          "$nvcc" -arch="$arch" -O2 -I "$src/Common" -"${f##*.}" -o "$dir/files/${f#*>}" "$src/$folder/$k" || return 1
          ;;
        @cg-headers)
          cp "$cuda/include/cooperative_groups.h" "$dir/files/" || return 1
          cp -r "$cuda/include/cooperative_groups" "$dir/files/" || return 1
          cp -r "$cuda/include/cccl/nv" "$cuda/include/cccl/cuda" "$dir/files/" || return 1
          ;;
        *)
          cp "$src/$folder/$f" "$dir/files/" || return 1
          ;;
      esac
    done
  } >"$work/$name.log" 2>&1
}

build_static() {
  local src out work nvcc arch cuda jobs entry name t0
  src=$(cd "$1" && pwd)
  mkdir -p "$2"
  out=$(cd "$2" && pwd)/samples-static
  nvcc=${NVCC:-/usr/local/cuda/bin/nvcc}
  arch=${NVCC_ARCH:-sm_90}
  jobs=${NVCC_JOBS:-$(nproc)}
  [[ -d "$src/Common" ]] || { echo "error: $src/Common not found (not a cuda-samples tree?)" >&2; exit 1; }
  [[ -x "$nvcc" ]] || { echo "error: nvcc not found at $nvcc (set NVCC)" >&2; exit 1; }
  cuda=$(cd "$(dirname "$nvcc")/.." && pwd)
  rm -rf "$out"
  mkdir -p "$out"
  work=$out/.build
  mkdir -p "$work"

  local -a todo=()
  for entry in "${STATIC_SAMPLES[@]}"; do
    name=${entry%%|*}
    if [[ -n "${SAMPLES_ONLY:-}" && " $SAMPLES_ONLY " != *" $name "* ]]; then continue; fi
    todo+=("$entry")
  done
  echo "building ${#todo[@]} static-runtime samples with $jobs jobs into $out"
  t0=$SECONDS

  # At most $jobs builds at a time; each leaves WORK/NAME.ok when it succeeded.
  local running=0
  for entry in "${todo[@]}"; do
    if ((running >= jobs)); then
      wait -n || true
      running=$((running - 1))
    fi
    name=${entry%%|*}
    (build_static_one "$src" "$work" "$nvcc" "$arch" "$cuda" "$entry" && touch "$work/$name.ok") &
    running=$((running + 1))
  done
  wait || true

  # Install in list order, one at a time: the binaries, then the run-time files. A file that two
  # samples need must come out the same for both (vectorAdd_kernel64.fatbin for vectorAddDrv,
  # simpleDrvRuntime and vectorAddMMAP); otherwise the later sample counts as failed.
  local -a built=() failed=()
  local f base
  for entry in "${todo[@]}"; do
    name=${entry%%|*}
    if [[ ! -f "$work/$name.ok" ]]; then
      failed+=("$name")
      echo "error: building $name failed:" >&2
      grep -iE -m 8 'error|undefined reference|cannot find|No such file' "$work/$name.log" >&2 ||
        tail -n 8 "$work/$name.log" >&2
      continue
    fi
    local clash=0
    for f in "$work/$name/files/"*; do
      [[ -e "$f" ]] || continue
      base=$(basename "$f")
      if [[ -e "$out/$base" ]] && ! diff -rq "$f" "$out/$base" >/dev/null; then
        echo "error: $name: its $base differs from the one another sample already put in $out" >&2
        clash=1
      fi
    done
    if ((clash)); then failed+=("$name"); continue; fi
    for f in "$work/$name/files/"*; do
      [[ -e "$f" ]] || continue
      base=$(basename "$f")
      [[ -e "$out/$base" ]] || cp -r "$f" "$out/$base"
    done
    mv "$work/$name/$name" "$out/$name"
    built+=("$name")
  done
  # The run-time files are data, not programs (run-driver.sh runs every executable file here).
  find "$out" -maxdepth 1 -type f -name '?*.*' -exec chmod a-x {} +
  [[ -f "$src/COMMIT" ]] && cp "$src/COMMIT" "$out/.cuda-samples-commit"
  printf '%s\n' "${failed[@]}" | sed '/^$/d' >"$out/.build-failed"
  if ((${#failed[@]} == 0)); then
    rm -rf "$work"
  else
    echo "build logs of the failed samples: $work/NAME.log" >&2
  fi
  echo "static-runtime samples: ${#built[@]} built, ${#failed[@]} failed${failed:+ (${failed[*]})}, $((SECONDS - t0)) s"
}

case "${1:-}" in
  --export)
    [[ $# -eq 3 ]] || usage
    export_sources "$2" "$3"
    ;;
  --static)
    [[ $# -eq 3 ]] || usage
    build_static "$2" "$3"
    ;;
  --list-static)
    [[ $# -eq 1 ]] || usage
    for entry in "${STATIC_SAMPLES[@]}"; do echo "${entry%%|*}"; done
    ;;
  -*)
    usage
    ;;
  *)
    [[ $# -eq 2 ]] || usage
    build_samples "$1" "$2"
    ;;
esac
