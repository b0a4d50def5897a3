// Managed memory through vgpu's libcuda.so.1 and a real vgpud (fake driver): fresh memory reads
// as zeros; the CPU and a kernel take turns writing the same arrays, each seeing the other's
// writes; copies and memsets with a managed end (the shim never touching managed pages itself,
// even for cuMemcpyDtoH into managed memory); a large array read back after the GPU wrote it;
// prefetches, advice and stream attachment; pointer attributes; freeing; and a fault on memory
// that is not managed still reaching the program's own SIGSEGV handler.
//
// "limit" (a tenant with 8 MiB of device memory): managed allocations count against it.
#include <cuda.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "guest_check.h"

namespace {

const char kImage[] =
    "FAKECUBIN 1\n"
    "kernel fake_vector_add 8,8,8,4\n"
    "kernel fake_fill_u32 8,4,8\n";

CUfunction g_add, g_fill;

template <typename T>
T* managed(size_t count) {
  CUdeviceptr p = 0;
  CU_CHECK(cuMemAllocManaged(&p, count * sizeof(T), CU_MEM_ATTACH_GLOBAL));
  return reinterpret_cast<T*>(p);
}

void add(float* a, float* b, float* c, int n) {
  void* args[] = {&a, &b, &c, &n};
  CU_CHECK(cuLaunchKernel(g_add, 1, 1, 1, 64, 1, 1, 0, nullptr, args, nullptr));
}

void fill(uint32_t* p, uint32_t value, unsigned long long count) {
  void* args[] = {&p, &value, &count};
  CU_CHECK(cuLaunchKernel(g_fill, 1, 1, 1, 64, 1, 1, 0, nullptr, args, nullptr));
}

sigjmp_buf g_jump;
void on_program_fault(int) { siglongjmp(g_jump, 1); }

void main_run() {
  int managed_memory = 0, concurrent = 1;
  CU_CHECK(cuDeviceGetAttribute(&managed_memory, CU_DEVICE_ATTRIBUTE_MANAGED_MEMORY, 0));
  CU_CHECK(cuDeviceGetAttribute(&concurrent, CU_DEVICE_ATTRIBUTE_CONCURRENT_MANAGED_ACCESS, 0));
  EXPECT(managed_memory == 1 && concurrent == 0);

  // The program's own SIGSEGV handler, installed before any managed memory exists.
  struct sigaction mine {};
  mine.sa_handler = on_program_fault;
  sigemptyset(&mine.sa_mask);
  sigaction(SIGSEGV, &mine, nullptr);

  // Fresh memory reads as zeros; then the CPU and the GPU take turns.
  const int n = 1000;
  float* a = managed<float>(n);
  float* b = managed<float>(n);
  float* c = managed<float>(n);
  for (int i = 0; i < n; ++i) EXPECT(a[i] == 0 && c[i] == 0);
  for (int i = 0; i < n; ++i) a[i] = static_cast<float>(i), b[i] = 2.0f * static_cast<float>(i);
  add(a, b, c, n);
  CU_CHECK(cuCtxSynchronize());
  for (int i = 0; i < n; ++i) EXPECT(c[i] == 3.0f * static_cast<float>(i));
  for (int round = 1; round <= 3; ++round) {
    for (int i = 0; i < n; i += 7) a[i] += 1.0f;  // a few chunks dirty, the rest only read
    add(c, a, c, n);                             // c += a, in place
    CU_CHECK(cuCtxSynchronize());
  }
  for (int i = 0; i < n; ++i) {
    const float bump = i % 7 == 0 ? 1.0f + 2.0f + 3.0f : 0.0f;
    EXPECT(c[i] == 3.0f * static_cast<float>(i) + 3.0f * static_cast<float>(i) + bump);
  }

  // Copies and memsets with a managed end.
  std::vector<float> host(n);
  for (int i = 0; i < n; ++i) host[i] = -static_cast<float>(i);
  CU_CHECK(cuMemcpyHtoD(reinterpret_cast<CUdeviceptr>(b), host.data(), n * sizeof(float)));
  EXPECT(b[5] == -5.0f && b[n - 1] == -static_cast<float>(n - 1));
  b[7] = 123.0f;  // dirty, then copied out by the GPU
  std::vector<float> out(n);
  CU_CHECK(cuMemcpyDtoH(out.data(), reinterpret_cast<CUdeviceptr>(b), n * sizeof(float)));
  EXPECT(out[7] == 123.0f && out[8] == -8.0f);
  CUdeviceptr plain = 0;
  CU_CHECK(cuMemAlloc(&plain, n * sizeof(float)));
  CU_CHECK(cuMemcpy(plain, reinterpret_cast<CUdeviceptr>(b), n * sizeof(float)));  // unified: device to device
  CU_CHECK(cuMemsetD32(reinterpret_cast<CUdeviceptr>(a), 0x3f800000u, n));         // 1.0f
  EXPECT(a[0] == 1.0f && a[n - 1] == 1.0f);
  // Into managed memory by an explicit device-to-host copy: the shim must not write it itself.
  CU_CHECK(cuMemcpyDtoH(c, plain, n * sizeof(float)));
  EXPECT(c[7] == 123.0f && c[9] == -9.0f);
  // From managed memory by an explicit host-to-device copy, while the CPU holds it dirty.
  c[9] = 99.0f;
  CU_CHECK(cuMemcpyHtoD(plain, c, n * sizeof(float)));
  CU_CHECK(cuMemcpyDtoH(out.data(), plain, n * sizeof(float)));
  EXPECT(out[9] == 99.0f && out[7] == 123.0f);

  // A large array the GPU writes, read back by the CPU in order (faults read ahead).
  const unsigned long long words = (8u << 20) / 4;
  uint32_t* big = managed<uint32_t>(words);
  fill(big, 0xabcd0123u, words);
  CU_CHECK(cuCtxSynchronize());
  uint64_t sum = 0;
  for (unsigned long long i = 0; i < words; ++i) sum += big[i] == 0xabcd0123u;
  EXPECT(sum == words);

  // Prefetches, advice, attachment; what is not managed is refused.
  fill(big, 7u, words);
  CUmemLocation cpu{CU_MEM_LOCATION_TYPE_HOST, 0};
  CUmemLocation dev0{CU_MEM_LOCATION_TYPE_DEVICE, 0};
  CU_CHECK(cuMemPrefetchAsync(reinterpret_cast<CUdeviceptr>(big), words * 4, cpu, 0, nullptr));
  EXPECT(big[0] == 7u && big[words - 1] == 7u);
  big[1] = 8u;
  CU_CHECK(cuMemPrefetchAsync(reinterpret_cast<CUdeviceptr>(big), words * 4, dev0, 0, nullptr));
  CU_CHECK(cuMemcpyDtoH(out.data(), reinterpret_cast<CUdeviceptr>(big), 8));
  uint32_t two[2];
  std::memcpy(two, out.data(), 8);
  EXPECT(two[0] == 7u && two[1] == 8u);
  CU_CHECK(cuMemAdvise(reinterpret_cast<CUdeviceptr>(a), n * sizeof(float), CU_MEM_ADVISE_SET_READ_MOSTLY, dev0));
  CU_CHECK(cuMemAdvise(reinterpret_cast<CUdeviceptr>(a), n * sizeof(float), CU_MEM_ADVISE_SET_PREFERRED_LOCATION, cpu));
  CU_CHECK(cuStreamAttachMemAsync(nullptr, reinterpret_cast<CUdeviceptr>(a), 0, CU_MEM_ATTACH_SINGLE));
  EXPECT_RC(cuMemAdvise(plain, 16, CU_MEM_ADVISE_SET_READ_MOSTLY, dev0), CUDA_ERROR_INVALID_VALUE);
  EXPECT_RC(cuMemPrefetchAsync(plain, 16, cpu, 0, nullptr), CUDA_ERROR_INVALID_VALUE);
  EXPECT_RC(cuMemPrefetchAsync(reinterpret_cast<CUdeviceptr>(a), n * sizeof(float) + 4096, cpu, 0, nullptr),
            CUDA_ERROR_INVALID_VALUE);
  EXPECT_RC(cuMemAllocManaged(&plain, 16, 0), CUDA_ERROR_INVALID_VALUE);

  // What a pointer is.
  unsigned is_managed = 0;
  CU_CHECK(cuPointerGetAttribute(&is_managed, CU_POINTER_ATTRIBUTE_IS_MANAGED, reinterpret_cast<CUdeviceptr>(b + 3)));
  EXPECT(is_managed == 1);
  CU_CHECK(cuPointerGetAttribute(&is_managed, CU_POINTER_ATTRIBUTE_IS_MANAGED, plain));
  EXPECT(is_managed == 0);
  CUdeviceptr base = 0;
  size_t size = 0;
  CU_CHECK(cuMemGetAddressRange(&base, &size, reinterpret_cast<CUdeviceptr>(b + 3)));
  EXPECT(base == reinterpret_cast<CUdeviceptr>(b) && size == n * sizeof(float));

  // A fault elsewhere still reaches the handler the program installed before vgpu's.
  void* guard = mmap(nullptr, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  EXPECT(guard != MAP_FAILED);
  if (sigsetjmp(g_jump, 1) == 0) {
    *static_cast<volatile int*>(guard) = 1;
    EXPECT(false);
  }
  munmap(guard, 4096);
  EXPECT(a[0] == 1.0f);  // and managed memory still works after it

  for (void* p : {static_cast<void*>(a), static_cast<void*>(b), static_cast<void*>(c), static_cast<void*>(big)})
    CU_CHECK(cuMemFree(reinterpret_cast<CUdeviceptr>(p)));
  CU_CHECK(cuMemFree(plain));
  std::printf("managed_memory ok\n");
}

void limit_run() {
  CUdeviceptr p = 0, q = 0;
  CU_CHECK(cuMemAllocManaged(&p, 6u << 20, CU_MEM_ATTACH_GLOBAL));
  EXPECT_RC(cuMemAllocManaged(&q, 6u << 20, CU_MEM_ATTACH_GLOBAL), CUDA_ERROR_OUT_OF_MEMORY);
  CU_CHECK(cuMemFree(p));
  CU_CHECK(cuMemAllocManaged(&q, 6u << 20, CU_MEM_ATTACH_GLOBAL));
  CU_CHECK(cuMemFree(q));
  std::printf("managed_memory limit ok\n");
}

}  // namespace

int main(int argc, char** argv) {
  CU_CHECK(cuInit(0));
  CUcontext ctx;
  CU_CHECK(cuDevicePrimaryCtxRetain(&ctx, 0));
  CU_CHECK(cuCtxSetCurrent(ctx));
  CUmodule module;
  CU_CHECK(cuModuleLoadData(&module, kImage));
  CU_CHECK(cuModuleGetFunction(&g_add, module, "fake_vector_add"));
  CU_CHECK(cuModuleGetFunction(&g_fill, module, "fake_fill_u32"));
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "limit") {
    limit_run();
  } else {
    main_run();
  }
  CU_CHECK(cuModuleUnload(module));
  CU_CHECK(cuDevicePrimaryCtxRelease(0));
  return 0;
}
