// error_handling: errors that are not sticky. An invalid launch configuration (too many threads
// per block, a grid dimension out of range, too much shared memory) is reported by
// cudaPeekAtLastError (which keeps it) and cudaGetLastError (which clears it). Older runtimes said
// cudaErrorInvalidConfiguration; CUDA 13.0 with driver 580 says cudaErrorInvalidValue for every
// one of these (measured on the H100), so the program requires "an error" and prints its name,
// which vgpu must reproduce. Failed API calls
// (huge cudaMalloc, bad cudaFree, bad copy) return their error and record it as the last error;
// cudaGetErrorString/cudaGetErrorName give the same text; and afterwards the context still works.
#include "common.h"

__global__ void inc(int* p, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) p[i] += 1;
}

static void show(const char* label, cudaError_t e) {
  std::printf("%s=%s\n", label, cudaGetErrorName(e));
}

int main() {
  bool ok = true;
  int* d;
  CK(cudaMalloc(&d, sizeof(int) * 1024));
  CK(cudaMemset(d, 0, sizeof(int) * 1024));
  EXPECT_ERR("initial_last_error", cudaGetLastError(), cudaSuccess);

  // 1. Too many threads per block.
  inc<<<1, 2048>>>(d, 1024);
  cudaError_t peek1 = cudaPeekAtLastError();
  cudaError_t peek2 = cudaPeekAtLastError();
  cudaError_t get1 = cudaGetLastError();
  cudaError_t get2 = cudaGetLastError();
  show("threads_2048_peek", peek1);
  show("threads_2048_peek_again", peek2);
  show("threads_2048_get", get1);
  show("threads_2048_get_after_clear", get2);
  ok &= peek1 != cudaSuccess && peek2 == peek1 && get1 == peek1 && get2 == cudaSuccess;
  std::printf("string(%s)=%s\n", cudaGetErrorName(get1), cudaGetErrorString(get1));

  // 2. Grid dimension y out of range; block of zero threads.
  inc<<<dim3(1, 70000, 1), dim3(32)>>>(d, 1024);
  cudaError_t e_grid = cudaGetLastError();
  show("grid_y_70000", e_grid);
  ok &= e_grid != cudaSuccess;
  inc<<<1, 0>>>(d, 1024);
  cudaError_t e_zero = cudaGetLastError();
  show("block_0_threads", e_zero);
  ok &= e_zero != cudaSuccess;

  // 3. Far too much dynamic shared memory.
  inc<<<1, 32, 1 << 20>>>(d, 1024);
  cudaError_t e_smem = cudaGetLastError();
  show("dynamic_smem_1MB", e_smem);
  ok &= e_smem != cudaSuccess;

  // 4. cudaLaunchKernel with a bad block size.
  int n = 1024;
  void* args[] = {&d, &n};
  cudaError_t e_lk = cudaLaunchKernel(reinterpret_cast<const void*>(inc), dim3(1), dim3(4096), args, 0, nullptr);
  show("cudaLaunchKernel_block_4096", e_lk);
  show("last_error_after_cudaLaunchKernel", cudaGetLastError());
  ok &= e_lk != cudaSuccess;

  // 5. API errors: allocation far too large, freeing a pointer never allocated,
  //    a bad memcpy kind, a bad device number.
  void* huge = nullptr;
  cudaError_t e_huge = cudaMalloc(&huge, static_cast<size_t>(1) << 50);
  show("malloc_1PB", e_huge);
  show("last_error_after_malloc_1PB", cudaGetLastError());
  ok &= e_huge == cudaErrorMemoryAllocation;
  int host_int = 0;
  cudaError_t e_free = cudaFree(&host_int);
  show("free_host_pointer", e_free);
  show("last_error_after_bad_free", cudaGetLastError());
  ok &= e_free != cudaSuccess;
  cudaError_t e_kind = cudaMemcpy(&host_int, d, 4, static_cast<cudaMemcpyKind>(42));
  show("memcpy_bad_kind", e_kind);
  (void)cudaGetLastError();
  ok &= e_kind != cudaSuccess;
  cudaError_t e_dev = cudaSetDevice(-1);
  show("set_device_minus_1", e_dev);
  (void)cudaGetLastError();
  ok &= e_dev != cudaSuccess;

  // 6. Names and strings of some well-known codes.
  const cudaError_t codes[] = {cudaSuccess, cudaErrorInvalidValue, cudaErrorMemoryAllocation,
                               cudaErrorInvalidConfiguration, cudaErrorInvalidDevice, cudaErrorIllegalAddress,
                               cudaErrorNotReady, cudaErrorInvalidResourceHandle, cudaErrorLaunchFailure};
  for (cudaError_t c : codes)
    std::printf("code %d: %s: %s\n", static_cast<int>(c), cudaGetErrorName(c), cudaGetErrorString(c));

  // 7. The context is fine: a normal launch works and the last error is clean.
  inc<<<4, 256>>>(d, 1024);
  CK_LAUNCH();
  inc<<<4, 256>>>(d, 1024);
  CK_LAUNCH();
  CK(cudaDeviceSynchronize());
  int h[1024];
  CK(cudaMemcpy(h, d, sizeof(h), cudaMemcpyDeviceToHost));
  int bad = 0;
  for (int v : h)
    if (v != 2) ++bad;
  std::printf("after_errors mismatches=%d\n", bad);
  EXPECT_ERR("final_last_error", cudaGetLastError(), cudaSuccess);
  ok &= bad == 0;
  CK(cudaFree(d));
  std::printf("error_handling %s\n", ok ? "PASS" : "FAIL");
  return ok ? 0 : 1;
}
