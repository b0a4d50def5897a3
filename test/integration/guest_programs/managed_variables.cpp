// __managed__ variables through libvgpu-cudart and vgpu's libcuda.so.1 and a real vgpud (fake
// driver): registered as nvcc registers them, their host pointers set by __cudaInitModule, then
// written in turn by the CPU and by kernels, each side seeing the other's writes; copies with a
// variable as one end; a plain global next to them never overwritten by what the CPU wrote to
// a variable; cuLibraryGetManaged refusing a variable that is not managed, and answering a
// thread with no current context (NVIDIA's static runtime asks before it makes one).
#include <cuda.h>

#include <cstdint>
#include <cstdio>
#include <thread>

#include "test/integration/guest_programs/fake_module.h"
#include "test/integration/guest_programs/guest_check.h"

extern "C" {
void __cudaRegisterManagedVar(void** handle, void** host_var_ptr_address, char* device_address,
                              const char* device_name, int ext, size_t size, int constant, int global);
char __cudaInitModule(void** handle);
}

namespace {

void fill_stub() {}

// Where host code reads the variables, as nvcc's section __nv_managed_data__ holds them.
uint32_t* counter = nullptr;
uint32_t* table = nullptr;  // 4096 entries: a few pages
char plain_shadow[64];       // a __device__ variable, to check the neighbours of the variables

constexpr uint32_t kTable = 4096;

void fill(uint32_t* p, uint32_t value, unsigned long long count) {
  void* args[] = {&p, &value, &count};
  CHECK(cudaLaunchKernel(reinterpret_cast<const void*>(&fill_stub), dim3(1), dim3(64), args, 0, 0));
}

}  // namespace

int main() {
  void** handle = guest_test::register_image(
      "FAKECUBIN 1\n"
      "kernel fake_fill_u32 8,4,8\n"
      "managed counter 4\n"
      "global plain 64\n"
      "managed table 16384\n");
  guest_test::register_kernel(handle, reinterpret_cast<const void*>(&fill_stub), "fake_fill_u32");
  __cudaRegisterManagedVar(handle, reinterpret_cast<void**>(&counter), const_cast<char*>("counter"), "counter", 0, 4,
                           0, 0);
  __cudaRegisterManagedVar(handle, reinterpret_cast<void**>(&table), const_cast<char*>("table"), "table", 0,
                           kTable * 4, 0, 0);
  __cudaRegisterVar(handle, plain_shadow, const_cast<char*>("plain"), "plain", 0, 64, 0, 0);
  __cudaRegisterFatBinaryEnd(handle);

  EXPECT(__cudaInitModule(handle) == 1);
  EXPECT(counter != nullptr && table != nullptr);
  unsigned int is_managed = 0;
  CU_CHECK(cuPointerGetAttribute(&is_managed, CU_POINTER_ATTRIBUTE_IS_MANAGED, reinterpret_cast<CUdeviceptr>(counter)));
  EXPECT(is_managed == 1);

  // Fresh variables read as the module left them (zeros); the CPU writes, a kernel reads.
  EXPECT(*counter == 0 && table[0] == 0 && table[kTable - 1] == 0);
  *counter = 41;
  fill(table, 7, kTable);  // the launch hands the CPU's write to the GPU first
  CHECK(cudaDeviceSynchronize());
  for (uint32_t i = 0; i < kTable; ++i) EXPECT(table[i] == 7);
  uint32_t seen = 0;
  CHECK(cudaMemcpy(&seen, counter, 4, cudaMemcpyDeviceToHost));
  EXPECT(seen == 41);

  // A plain global, written by a kernel, keeps its value whatever the CPU writes to the
  // variables (they may share a page with it: only the variables' bytes are copied).
  void* plain = nullptr;
  CHECK(cudaGetSymbolAddress(&plain, plain_shadow));
  fill(static_cast<uint32_t*>(plain), 5, 16);
  CHECK(cudaDeviceSynchronize());
  for (int round = 0; round < 3; ++round) {
    *counter += 1;
    table[100] += 1;
    fill(counter + 0, *counter * 2, 0);  // no work, but GPU work: the hand-over happens
    CHECK(cudaDeviceSynchronize());
  }
  uint32_t plain_host[16] = {};
  CHECK(cudaMemcpy(plain_host, plain, sizeof plain_host, cudaMemcpyDeviceToHost));
  for (uint32_t v : plain_host) EXPECT(v == 5);
  CHECK(cudaMemcpy(&seen, counter, 4, cudaMemcpyDeviceToHost));
  EXPECT(seen == 44 && *counter == 44 && table[100] == 10);

  // Kernels write, the CPU reads; a copy into a variable is seen by the CPU.
  fill(counter, 99, 1);
  fill(table + 10, 3, 20);
  CHECK(cudaDeviceSynchronize());
  EXPECT(*counter == 99 && table[9] == 7 && table[10] == 3 && table[29] == 3 && table[30] == 7);
  const uint32_t value = 1234;
  CHECK(cudaMemcpy(counter, &value, 4, cudaMemcpyHostToDevice));
  EXPECT(*counter == 1234);

  // cuLibraryGetManaged answers only for managed variables.
  CUlibrary library = nullptr;
  CU_CHECK(cuLibraryLoadData(&library, "FAKECUBIN 1\nmanaged m 8\nglobal g 8\n", nullptr, nullptr, 0, nullptr,
                             nullptr, 0));
  CUdeviceptr m = 0;
  size_t bytes = 0;
  CU_CHECK(cuLibraryGetManaged(&m, &bytes, library, "m"));
  EXPECT(m != 0 && bytes == 8);
  EXPECT(*reinterpret_cast<uint64_t*>(m) == 0);
  EXPECT_RC(cuLibraryGetManaged(&m, &bytes, library, "g"), CUDA_ERROR_NOT_FOUND);
  // NVIDIA's static runtime asks before any context is current: a thread without one.
  CUdeviceptr from_thread = 0;
  CUresult thread_result = CUDA_ERROR_UNKNOWN;
  std::thread([&] {
    CUcontext none = nullptr;
    if (cuCtxGetCurrent(&none) == CUDA_SUCCESS && none == nullptr)
      thread_result = cuLibraryGetManaged(&from_thread, nullptr, library, "m");
  }).join();
  EXPECT(thread_result == CUDA_SUCCESS && from_thread == m);
  EXPECT_RC(cuLibraryGetManaged(&m, &bytes, library, "nope"), CUDA_ERROR_NOT_FOUND);
  CU_CHECK(cuLibraryUnload(library));

  std::printf("managed_variables ok\n");
  return 0;
}
