// A program written against the CUDA Driver API, linked against vgpu's libcuda.so.1, through a
// real vgpud (fake driver): initialization and devices, cuGetProcAddress, primary and created
// contexts, memory round trips, a module from an image with a launch, streams and events,
// error names, and what it does with an unsupported call and an unknown export table.
#include <cuda.h>
#include <cudaProfiler.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "guest_check.h"

namespace {

const char kImage[] =
    "FAKECUBIN 1\n"
    "kernel fake_vector_add 8,8,8,4\n"
    "kernel fake_fill_u32 8,4,8\n"
    "kernel fake_fault\n"
    "global counter 8\n";

void devices_and_versions() {
  int version = 0;
  EXPECT(cuDeviceGetCount(&version) == CUDA_ERROR_NOT_INITIALIZED);  // before cuInit
  CU_CHECK(cuDriverGetVersion(&version));
  EXPECT(version >= CUDA_VERSION);
  CU_CHECK(cuInit(0));
  int count = 0;
  CU_CHECK(cuDeviceGetCount(&count));
  EXPECT(count == 1);
  CUdevice dev;
  CU_CHECK(cuDeviceGet(&dev, 0));
  EXPECT(cuDeviceGet(&dev, 1) == CUDA_ERROR_INVALID_DEVICE);
  char name[64];
  CU_CHECK(cuDeviceGetName(name, sizeof name, 0));
  EXPECT(std::strlen(name) > 0);
  int major = 0;
  CU_CHECK(cuDeviceGetAttribute(&major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, 0));
  EXPECT(major >= 7);
  size_t total = 0;
  CU_CHECK(cuDeviceTotalMem(&total, 0));
  EXPECT(total > 0);
  std::printf("device %s sm_%d total>0\n", name, major);
}

void proc_address() {
  void* fn = nullptr;
  CUdriverProcAddressQueryResult status{};
  CU_CHECK(cuGetProcAddress("cuMemAlloc", &fn, 12000, CU_GET_PROC_ADDRESS_DEFAULT, &status));
  EXPECT(status == CU_GET_PROC_ADDRESS_SUCCESS);
  EXPECT(fn == reinterpret_cast<void*>(&cuMemAlloc));  // cuda.h maps cuMemAlloc to cuMemAlloc_v2
  fn = &status;
  cuGetProcAddress("cuNoSuchCall", &fn, 12000, CU_GET_PROC_ADDRESS_DEFAULT, &status);
  EXPECT(fn == nullptr && status == CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND);
}

void contexts() {
  CUcontext none = reinterpret_cast<CUcontext>(1);
  CU_CHECK(cuCtxGetCurrent(&none));
  EXPECT(none == nullptr);
  CUdeviceptr p;
  EXPECT(cuMemAlloc(&p, 16) == CUDA_ERROR_INVALID_CONTEXT);  // no context current yet

  CUcontext primary;
  CU_CHECK(cuDevicePrimaryCtxRetain(&primary, 0));
  unsigned flags = 0;
  int active = 0;
  CU_CHECK(cuDevicePrimaryCtxGetState(0, &flags, &active));
  EXPECT(active == 1);
  CU_CHECK(cuCtxSetCurrent(primary));
  CUcontext current;
  CU_CHECK(cuCtxGetCurrent(&current));
  EXPECT(current == primary);

  CUcontext created;
  CU_CHECK(cuCtxCreate(&created, nullptr, 0, 0));  // pushed: now current
  CU_CHECK(cuCtxGetCurrent(&current));
  EXPECT(current == created);
  CUdevice dev = -1;
  CU_CHECK(cuCtxGetDevice(&dev));
  EXPECT(dev == 0);
  CUcontext popped;
  CU_CHECK(cuCtxPopCurrent(&popped));
  EXPECT(popped == created);
  CU_CHECK(cuCtxDestroy(created));
  EXPECT(cuCtxPushCurrent(created) == CUDA_ERROR_INVALID_CONTEXT);  // gone
  CU_CHECK(cuCtxSetCurrent(primary));
}

void memory() {
  const size_t sizes[] = {1, 4096, 40000, (3u << 20) + 5};
  for (size_t n : sizes) {
    std::vector<unsigned char> in(n), out(n, 0);
    for (size_t i = 0; i < n; ++i) in[i] = static_cast<unsigned char>(i * 7 + n);
    CUdeviceptr a, b;
    CU_CHECK(cuMemAlloc(&a, n));
    CU_CHECK(cuMemAlloc(&b, n));
    CU_CHECK(cuMemcpyHtoD(a, in.data(), n));
    CU_CHECK(cuMemcpyDtoD(b, a, n));
    CU_CHECK(cuMemcpyDtoH(out.data(), b, n));
    EXPECT(out == in);
    CU_CHECK(cuMemsetD8(b, 0x5a, n));
    CU_CHECK(cuMemsetD32(a, 0x01010101u, n / 4));
    CU_CHECK(cuMemcpyDtoH(out.data(), b, n));
    for (unsigned char v : out) EXPECT(v == 0x5a);
    CU_CHECK(cuMemFree(a));
    CU_CHECK(cuMemFree(b));
  }
  size_t free_bytes = 0, total = 0;
  CU_CHECK(cuMemGetInfo(&free_bytes, &total));
  EXPECT(total > 0 && free_bytes <= total);
  std::printf("memory round trips ok\n");
}

// Page-locked memory comes from the shared heap and copies both ways; registered memory keeps
// the driver's bookkeeping; ranges and pitches answer as the driver's do.
void host_memory_and_ranges() {
  const size_t n = 100000;
  unsigned char* pinned = nullptr;
  unsigned char* back = nullptr;
  CU_CHECK(cuMemAllocHost(reinterpret_cast<void**>(&pinned), n));
  CU_CHECK(cuMemHostAlloc(reinterpret_cast<void**>(&back), n, CU_MEMHOSTALLOC_PORTABLE));
  unsigned flags = 99;
  CU_CHECK(cuMemHostGetFlags(&flags, back));
  EXPECT(flags == (CU_MEMHOSTALLOC_PORTABLE | CU_MEMHOSTALLOC_DEVICEMAP));  // every context maps host memory
  for (size_t i = 0; i < n; ++i) pinned[i] = static_cast<unsigned char>(i * 13);
  CUdeviceptr d;
  CU_CHECK(cuMemAlloc(&d, n));
  CU_CHECK(cuMemcpyHtoD(d, pinned, n));
  CU_CHECK(cuMemcpyDtoHAsync(back, d, n, nullptr));
  CU_CHECK(cuCtxSynchronize());
  EXPECT(std::memcmp(pinned, back, n) == 0);

  CUdeviceptr base = 0;
  size_t size = 0;
  CU_CHECK(cuMemGetAddressRange(&base, &size, d + 777));
  EXPECT(base == d && size == n);
  EXPECT(cuMemGetAddressRange(&base, &size, 16) == CUDA_ERROR_NOT_FOUND);

  std::vector<unsigned char> pageable(8192, 3);
  CU_CHECK(cuMemHostRegister(pageable.data(), pageable.size(), CU_MEMHOSTREGISTER_PORTABLE));
  EXPECT(cuMemHostRegister(pageable.data() + 100, 10, 0) == CUDA_ERROR_HOST_MEMORY_ALREADY_REGISTERED);
  CU_CHECK(cuMemcpyDtoH(pageable.data(), d, pageable.size()));
  EXPECT(std::memcmp(pageable.data(), pinned, pageable.size()) == 0);
  CU_CHECK(cuMemHostUnregister(pageable.data()));
  EXPECT(cuMemHostUnregister(pageable.data()) == CUDA_ERROR_HOST_MEMORY_NOT_REGISTERED);

  // Pinned memory set by the GPU, named by its host address (unified addressing) and by its
  // device pointer: both reach the same bytes.
  CU_CHECK(cuMemsetD32Async(reinterpret_cast<CUdeviceptr>(back), 0x01020304u, 16, nullptr));
  CU_CHECK(cuCtxSynchronize());
  uint32_t word = 0;
  std::memcpy(&word, back + 60, sizeof word);
  EXPECT(word == 0x01020304u);
  EXPECT(back[64] == static_cast<unsigned char>(64 * 13));  // past the memset: untouched
  CUdeviceptr mapped = 0;
  CU_CHECK(cuMemHostGetDevicePointer(&mapped, back, 0));
  CU_CHECK(cuMemsetD8(mapped + 100, 0x7e, 28));
  EXPECT(back[100] == 0x7e && back[127] == 0x7e && back[128] == static_cast<unsigned char>(128 * 13));
  uint32_t by_host_address = 0;  // a copy from it by its host address, as from device memory
  CU_CHECK(cuMemcpyDtoH(&by_host_address, reinterpret_cast<CUdeviceptr>(back) + 60, sizeof by_host_address));
  EXPECT(by_host_address == 0x01020304u);
  CU_CHECK(cuMemcpyDtoD(d, mapped, 64));  // and from its device pointer
  CU_CHECK(cuMemcpyDtoH(pageable.data(), d, 64));
  std::memcpy(&word, pageable.data(), sizeof word);
  EXPECT(word == 0x01020304u);

  CUdeviceptr pitched;
  size_t pitch = 0;
  CU_CHECK(cuMemAllocPitch(&pitched, &pitch, 100, 3, 4));
  EXPECT(pitch == 512);
  CU_CHECK(cuMemFree(pitched));
  CU_CHECK(cuMemFree(d));
  CU_CHECK(cuMemFreeHost(pinned));
  CU_CHECK(cuMemFreeHost(back));
  EXPECT(cuMemFreeHost(back) == CUDA_ERROR_INVALID_VALUE);
  std::printf("host memory ok\n");
}

// Pointer attributes answer from what the shim handed out; streams know their own facts; a
// stream callback runs after the work before it.
void pointers_and_streams() {
  CUdeviceptr d;
  CU_CHECK(cuMemAlloc(&d, 4096));
  unsigned type = 0;
  CU_CHECK(cuPointerGetAttribute(&type, CU_POINTER_ATTRIBUTE_MEMORY_TYPE, d + 10));
  EXPECT(type == CU_MEMORYTYPE_DEVICE);
  CUcontext owner = nullptr, current = nullptr;
  CU_CHECK(cuPointerGetAttribute(&owner, CU_POINTER_ATTRIBUTE_CONTEXT, d));
  CU_CHECK(cuCtxGetCurrent(&current));
  EXPECT(owner == current);
  int local = 0;
  EXPECT(cuPointerGetAttribute(&type, CU_POINTER_ATTRIBUTE_MEMORY_TYPE, reinterpret_cast<CUdeviceptr>(&local)) ==
         CUDA_ERROR_INVALID_VALUE);
  CUpointer_attribute which[] = {CU_POINTER_ATTRIBUTE_RANGE_START_ADDR, CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL};
  CUdeviceptr start = 1;
  int ordinal = 5;
  void* data[] = {&start, &ordinal};
  CU_CHECK(cuPointerGetAttributes(2, which, data, reinterpret_cast<CUdeviceptr>(&local)));
  EXPECT(start == 0 && ordinal == -2);
  CU_CHECK(cuPointerGetAttributes(2, which, data, d + 100));
  EXPECT(start == d && ordinal == 0);

  CUstream s;
  CU_CHECK(cuStreamCreateWithPriority(&s, CU_STREAM_NON_BLOCKING, -100));  // clamped
  int priority = 0;
  unsigned flags = 0;
  CU_CHECK(cuStreamGetPriority(s, &priority));
  CU_CHECK(cuStreamGetFlags(s, &flags));
  EXPECT(priority == -5 && flags == CU_STREAM_NON_BLOCKING);
  CUcontext stream_ctx = nullptr;
  CU_CHECK(cuStreamGetCtx(s, &stream_ctx));
  EXPECT(stream_ctx == current);
  unsigned long long id = 0, legacy_id = 0;
  CU_CHECK(cuStreamGetId(s, &id));
  CU_CHECK(cuStreamGetId(nullptr, &legacy_id));
  EXPECT(id != 0 && legacy_id != 0 && id != legacy_id);
  static int calls = 0;
  CU_CHECK(cuMemsetD8Async(d, 1, 4096, s));
  CU_CHECK(cuStreamAddCallback(s, [](CUstream, CUresult status, void* p) { *static_cast<int*>(p) += status == CUDA_SUCCESS; },
                               &calls, 0));
  CU_CHECK(cuStreamSynchronize(s));  // it runs on the process's host-function thread
  EXPECT(calls == 1);
  CUstreamCaptureStatus capture = CU_STREAM_CAPTURE_STATUS_ACTIVE;
  CU_CHECK(cuStreamIsCapturing(s, &capture));
  EXPECT(capture == CU_STREAM_CAPTURE_STATUS_NONE);
  CUdeviceptr stream_ordered = 0;
  CU_CHECK(cuMemAllocAsync(&stream_ordered, 256, s));
  CU_CHECK(cuMemsetD8Async(stream_ordered, 3, 256, s));
  CU_CHECK(cuMemFreeAsync(stream_ordered, s));
  CU_CHECK(cuStreamDestroy(s));
  CU_CHECK(cuProfilerStart());
  CU_CHECK(cuProfilerStop());
  CU_CHECK(cuMemFree(d));
  std::printf("pointers and streams ok\n");
}

void module_and_launch() {
  CUmodule module;
  CU_CHECK(cuModuleLoadData(&module, kImage));
  CUfunction add;
  CU_CHECK(cuModuleGetFunction(&add, module, "fake_vector_add"));
  EXPECT(cuModuleGetFunction(&add, module, "no_such_kernel") != CUDA_SUCCESS);
  CU_CHECK(cuModuleGetFunction(&add, module, "fake_vector_add"));
  size_t offset = 0, size = 0;
  CU_CHECK(cuFuncGetParamInfo(add, 3, &offset, &size));
  EXPECT(offset == 24 && size == 4);

  const int n = 1000;
  std::vector<float> a(n), b(n), c(n);
  for (int i = 0; i < n; ++i) {
    a[i] = static_cast<float>(i);
    b[i] = 2.0f * static_cast<float>(i);
  }
  CUdeviceptr da, db, dc;
  CU_CHECK(cuMemAlloc(&da, n * sizeof(float)));
  CU_CHECK(cuMemAlloc(&db, n * sizeof(float)));
  CU_CHECK(cuMemAlloc(&dc, n * sizeof(float)));
  CU_CHECK(cuMemcpyHtoD(da, a.data(), n * sizeof(float)));
  CU_CHECK(cuMemcpyHtoD(db, b.data(), n * sizeof(float)));

  CUstream stream;
  CU_CHECK(cuStreamCreate(&stream, CU_STREAM_NON_BLOCKING));
  CUevent start, stop;
  CU_CHECK(cuEventCreate(&start, CU_EVENT_DEFAULT));
  CU_CHECK(cuEventCreate(&stop, CU_EVENT_DEFAULT));
  int count = n;
  void* args[] = {&da, &db, &dc, &count};
  CU_CHECK(cuEventRecord(start, stream));
  CU_CHECK(cuLaunchKernel(add, (n + 255) / 256, 1, 1, 256, 1, 1, 0, stream, args, nullptr));
  CU_CHECK(cuEventRecord(stop, stream));
  CU_CHECK(cuStreamSynchronize(stream));
  CU_CHECK(cuEventSynchronize(stop));
  float ms = -1;
  CU_CHECK(cuEventElapsedTime(&ms, start, stop));
  EXPECT(ms >= 0);
  CU_CHECK(cuMemcpyDtoH(c.data(), dc, n * sizeof(float)));
  for (int i = 0; i < n; ++i) EXPECT(c[i] == 3.0f * static_cast<float>(i));

  CUdeviceptr counter;
  size_t counter_bytes = 0;
  CU_CHECK(cuModuleGetGlobal(&counter, &counter_bytes, module, "counter"));
  EXPECT(counter_bytes == 8);
  // A unified copy knows a module's global for device memory.
  const unsigned long long seven = 7;
  unsigned long long read_back = 0;
  CU_CHECK(cuMemcpy(counter, reinterpret_cast<CUdeviceptr>(&seven), sizeof seven));
  CU_CHECK(cuMemcpy(reinterpret_cast<CUdeviceptr>(&read_back), counter, sizeof read_back));
  EXPECT(read_back == 7);

  // Page-locked memory handed to a kernel by its host address, with no cuMemHostGetDevicePointer:
  // unified addressing makes the two one address, and frameworks rely on it (XLA's timer
  // semaphore). The kernel's writes are in the program's memory when the stream is done.
  CUfunction fill;
  CU_CHECK(cuModuleGetFunction(&fill, module, "fake_fill_u32"));
  unsigned* flags_word = nullptr;
  CU_CHECK(cuMemHostAlloc(reinterpret_cast<void**>(&flags_word), 64 * sizeof(unsigned), 0));
  CUdeviceptr flags_device = 0;
  CU_CHECK(cuMemHostGetDevicePointer(&flags_device, flags_word, 0));
  EXPECT(flags_device == reinterpret_cast<CUdeviceptr>(flags_word));
  CUdeviceptr by_host_address = reinterpret_cast<CUdeviceptr>(flags_word);
  unsigned released = 0x600d;
  unsigned long long flag_count = 64;
  void* fill_args[] = {&by_host_address, &released, &flag_count};
  CU_CHECK(cuLaunchKernel(fill, 1, 1, 1, 64, 1, 1, 0, stream, fill_args, nullptr));
  CU_CHECK(cuStreamSynchronize(stream));
  EXPECT(flags_word[0] == 0x600d && flags_word[63] == 0x600d);
  CU_CHECK(cuMemFreeHost(flags_word));

  // A stale stream handle is refused in the guest.
  CU_CHECK(cuStreamDestroy(stream));
  CU_CHECK(cuEventDestroy(start));
  CU_CHECK(cuEventDestroy(stop));
  CU_CHECK(cuCtxSynchronize());
  CU_CHECK(cuModuleUnload(module));
  std::printf("launch ok\n");
}

void library_and_kernel() {
  CUlibrary library;
  CU_CHECK(cuLibraryLoadData(&library, kImage, nullptr, nullptr, 0, nullptr, nullptr, 0));
  CUkernel kernel;
  CU_CHECK(cuLibraryGetKernel(&kernel, library, "fake_vector_add"));
  size_t offset = 0, size = 0;
  CU_CHECK(cuKernelGetParamInfo(kernel, 3, &offset, &size));
  EXPECT(offset == 24 && size == 4);
  EXPECT(cuKernelGetParamInfo(kernel, 4, &offset, &size) == CUDA_ERROR_INVALID_VALUE);
  const int n = 64;
  std::vector<float> host(n, 1.0f);
  CUdeviceptr d;
  CU_CHECK(cuMemAlloc(&d, n * sizeof(float)));
  CU_CHECK(cuMemcpyHtoD(d, host.data(), n * sizeof(float)));
  int count = n;
  void* args[] = {&d, &d, &d, &count};
  // The runtime launches a CUkernel as a CUfunction.
  CU_CHECK(cuLaunchKernel(reinterpret_cast<CUfunction>(kernel), 1, 1, 1, 64, 1, 1, 0, nullptr, args, nullptr));
  CU_CHECK(cuMemcpyDtoH(host.data(), d, n * sizeof(float)));
  for (float v : host) EXPECT(v == 2.0f);
  CU_CHECK(cuLibraryUnload(library));
  std::printf("library ok\n");
}

// The JIT logs a program asks for, in the in-out form cuda.h gives them.
struct JitLogs {
  char info[1024] = {};
  char error[1024] = {};
  CUjit_option options[4] = {CU_JIT_INFO_LOG_BUFFER, CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES, CU_JIT_ERROR_LOG_BUFFER,
                             CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES};
  void* values[4] = {info, reinterpret_cast<void*>(sizeof info), error, reinterpret_cast<void*>(sizeof error)};
  size_t error_written() const { return reinterpret_cast<uintptr_t>(values[3]); }
};

// The linker runs on the host: two inputs make one image with both kernels, and the linker's
// logs come back; a broken input fails with its error log; so does a text the JIT refuses to
// load (cuModuleLoadDataEx).
void link_and_jit_logs() {
  const char a[] = "FAKECUBIN 1\nkernel link_a 8\n";
  const char b[] = "FAKECUBIN 1\nkernel link_b 8\n";
  JitLogs logs;
  CUlinkState link;
  CU_CHECK(cuLinkCreate(4, logs.options, logs.values, &link));
  CU_CHECK(cuLinkAddData(link, CU_JIT_INPUT_PTX, const_cast<char*>(a), sizeof a, "a.ptx", 0, nullptr, nullptr));
  CU_CHECK(cuLinkAddData(link, CU_JIT_INPUT_PTX, const_cast<char*>(b), sizeof b, "b.ptx", 0, nullptr, nullptr));
  void* cubin = nullptr;
  size_t size = 0;
  CU_CHECK(cuLinkComplete(link, &cubin, &size));
  EXPECT(cubin != nullptr && size > 0);
  EXPECT(std::strstr(logs.info, "'b.ptx'") != nullptr);  // the host linker's own words
  CUmodule linked;
  CU_CHECK(cuModuleLoadData(&linked, cubin));
  CUfunction fa, fb;
  CU_CHECK(cuModuleGetFunction(&fa, linked, "link_a"));
  CU_CHECK(cuModuleGetFunction(&fb, linked, "link_b"));
  CU_CHECK(cuModuleUnload(linked));
  CU_CHECK(cuLinkDestroy(link));

  JitLogs refused;
  CUlinkState bad;
  CU_CHECK(cuLinkCreate(4, refused.options, refused.values, &bad));
  const char broken[] = "FAKECUBIN 1\n# BROKEN\n";
  EXPECT(cuLinkAddData(bad, CU_JIT_INPUT_PTX, const_cast<char*>(broken), sizeof broken, "broken.ptx", 0, nullptr,
                       nullptr) == CUDA_ERROR_INVALID_PTX);
  EXPECT(std::strstr(refused.error, "'broken.ptx'") != nullptr);
  EXPECT(refused.error_written() == std::strlen(refused.error) + 1);
  CU_CHECK(cuLinkDestroy(bad));

  JitLogs jit;
  CUmodule none;
  const char not_a_module[] = "FAKECUBIN 1\nthis line declares nothing\n";
  EXPECT(cuModuleLoadDataEx(&none, not_a_module, 4, jit.options, jit.values) == CUDA_ERROR_INVALID_IMAGE);
  EXPECT(std::strstr(jit.error, "no fake image") != nullptr);
  std::printf("link ok\n");
}

// The calls that have a message of their own: limits, wide and pitched memsets, the kernels of a
// module, stream memory operations, the occupancy calculators, cuLaunchKernelEx's attributes.
void limits_memsets_and_stream_values() {
  size_t heap = 0;
  CU_CHECK(cuCtxSetLimit(CU_LIMIT_MALLOC_HEAP_SIZE, 32u << 20));
  CU_CHECK(cuCtxGetLimit(&heap, CU_LIMIT_MALLOC_HEAP_SIZE));
  EXPECT(heap == (32u << 20));

  const size_t n = 1000;
  CUdeviceptr d;
  CU_CHECK(cuMemAlloc(&d, n * 4));
  std::vector<uint32_t> words(n);
  CU_CHECK(cuMemsetD32(d, 0x12345678u, n));
  CU_CHECK(cuMemcpyDtoH(words.data(), d, n * 4));
  for (uint32_t w : words) EXPECT(w == 0x12345678u);
  // Three rows of 8 halves, 64 bytes apart; the bytes between rows keep the 32-bit pattern.
  CU_CHECK(cuMemsetD2D16(d, 64, 0xbeef, 8, 3));
  CU_CHECK(cuMemcpyDtoH(words.data(), d, n * 4));
  EXPECT(words[0] == 0xbeefbeefu && words[3] == 0xbeefbeefu && words[4] == 0x12345678u);
  EXPECT(words[16] == 0xbeefbeefu && words[35] == 0xbeefbeefu && words[36] == 0x12345678u);

  CUmodule module;
  CU_CHECK(cuModuleLoadData(&module, kImage));
  unsigned count = 0;
  CU_CHECK(cuModuleGetFunctionCount(&count, module));
  EXPECT(count == 3);
  std::vector<CUfunction> functions(count);
  CU_CHECK(cuModuleEnumerateFunctions(functions.data(), count, module));
  const char* name = nullptr;
  CU_CHECK(cuFuncGetName(&name, functions[1]));
  EXPECT(std::strlen(name) > 0);

  CUstream s;
  CU_CHECK(cuStreamCreate(&s, CU_STREAM_NON_BLOCKING));
  CU_CHECK(cuStreamWriteValue32(s, d + 8, 7, 0));
  CU_CHECK(cuStreamWaitValue32(s, d + 8, 7, CU_STREAM_WAIT_VALUE_GEQ));
  CU_CHECK(cuStreamWriteValue64(s, d + 16, 0x0102030405060708ull, 0));
  CU_CHECK(cuStreamSynchronize(s));
  CU_CHECK(cuMemcpyDtoH(words.data(), d, 32));
  EXPECT(words[2] == 7 && words[4] == 0x05060708u && words[5] == 0x01020304u);
  EXPECT(cuStreamWriteValue32(s, d + 2, 1, 0) == CUDA_ERROR_INVALID_VALUE);  // misaligned

  CUfunction fill;
  CU_CHECK(cuModuleGetFunction(&fill, module, "fake_fill_u32"));
  size_t available = 0;
  CU_CHECK(cuOccupancyAvailableDynamicSMemPerBlock(&available, fill, 1, 128));
  EXPECT(available > 0);
  unsigned value = 9;
  unsigned long long words_to_fill = n;
  void* args[] = {&d, &value, &words_to_fill};
  CUlaunchAttribute cooperative{};
  cooperative.id = CU_LAUNCH_ATTRIBUTE_COOPERATIVE;
  cooperative.value.cooperative = 1;
  CUlaunchConfig config{};
  config.gridDimX = 4, config.gridDimY = 1, config.gridDimZ = 1;
  config.blockDimX = 256, config.blockDimY = 1, config.blockDimZ = 1;
  config.hStream = s;
  config.attrs = &cooperative;
  config.numAttrs = 1;
  CU_CHECK(cuLaunchKernelEx(&config, fill, args, nullptr));
  CU_CHECK(cuStreamSynchronize(s));
  CU_CHECK(cuMemcpyDtoH(words.data(), d, n * 4));
  for (uint32_t w : words) EXPECT(w == 9);
  // A cooperative grid larger than the GPU holds at once is refused at the call, as by the
  // driver, and leaves nothing behind for a later call to report.
  config.gridDimX = 1u << 20;
  EXPECT(cuLaunchKernelEx(&config, fill, args, nullptr) == CUDA_ERROR_COOPERATIVE_LAUNCH_TOO_LARGE);
  EXPECT(cuLaunchCooperativeKernel(fill, 1u << 20, 1, 1, 256, 1, 1, 0, s, args) ==
         CUDA_ERROR_COOPERATIVE_LAUNCH_TOO_LARGE);
  // The multi-device form (deprecated, still in the driver), on one device: a stream the
  // program made, each device once.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  int multi_device = 0;
  CU_CHECK(cuDeviceGetAttribute(&multi_device, CU_DEVICE_ATTRIBUTE_COOPERATIVE_MULTI_DEVICE_LAUNCH, 0));
  EXPECT(multi_device == 1);
  value = 11;
  CUDA_LAUNCH_PARAMS multi[2] = {{fill, 4, 1, 1, 256, 1, 1, 0, s, args}, {fill, 4, 1, 1, 256, 1, 1, 0, s, args}};
  CU_CHECK(cuLaunchCooperativeKernelMultiDevice(multi, 1, 0));
  CU_CHECK(cuStreamSynchronize(s));
  CU_CHECK(cuMemcpyDtoH(words.data(), d, n * 4));
  for (uint32_t w : words) EXPECT(w == 11);
  EXPECT(cuLaunchCooperativeKernelMultiDevice(multi, 2, 0) == CUDA_ERROR_INVALID_VALUE);  // one device twice
  EXPECT(cuLaunchCooperativeKernelMultiDevice(multi, 1, 4) == CUDA_ERROR_INVALID_VALUE);  // unknown flag
  multi[0].hStream = nullptr;
  EXPECT(cuLaunchCooperativeKernelMultiDevice(multi, 1, 0) == CUDA_ERROR_INVALID_HANDLE);  // the NULL stream
#pragma GCC diagnostic pop
  CU_CHECK(cuStreamSynchronize(s));
  CU_CHECK(cuStreamDestroy(s));
  CU_CHECK(cuModuleUnload(module));
  CU_CHECK(cuMemFree(d));

  std::printf("limits, memsets, stream values and launch attributes ok\n");
}

// Last: a kernel fault ends the context for every later call (the fake driver's fault also
// ends vgpud's worker for this process, so nothing runs after it).
// TMA descriptors are encoded by vgpud's driver (the fake writes back what it was asked).
void tensor_maps() {
  CUdeviceptr d;
  CU_CHECK(cuMemAlloc(&d, 1 << 20));
  const cuuint64_t dims[2] = {256, 512};
  const cuuint64_t strides[1] = {256 * 4};
  const cuuint32_t box[2] = {64, 32};
  const cuuint32_t element_strides[2] = {1, 1};
  CUtensorMap map{};
  CU_CHECK(cuTensorMapEncodeTiled(&map, CU_TENSOR_MAP_DATA_TYPE_FLOAT32, 2, reinterpret_cast<void*>(d), dims, strides,
                                  box, element_strides, CU_TENSOR_MAP_INTERLEAVE_NONE, CU_TENSOR_MAP_SWIZZLE_128B,
                                  CU_TENSOR_MAP_L2_PROMOTION_NONE, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE));
  uint64_t words[16];
  std::memcpy(words, &map, sizeof words);
  EXPECT(words[0] == d && words[1] == 256 && words[2] == 512 && words[7] == 64);
  EXPECT(words[6] == (CU_TENSOR_MAP_DATA_TYPE_FLOAT32 | 2u << 8 | uint64_t{CU_TENSOR_MAP_SWIZZLE_128B} << 16));
  // Refused: a rank the driver has not, in the guest; a misaligned address, by the driver.
  EXPECT(cuTensorMapEncodeTiled(&map, CU_TENSOR_MAP_DATA_TYPE_FLOAT32, 6, reinterpret_cast<void*>(d), dims, strides,
                                box, element_strides, CU_TENSOR_MAP_INTERLEAVE_NONE, CU_TENSOR_MAP_SWIZZLE_NONE,
                                CU_TENSOR_MAP_L2_PROMOTION_NONE,
                                CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE) == CUDA_ERROR_INVALID_VALUE);
  EXPECT(cuTensorMapEncodeTiled(&map, CU_TENSOR_MAP_DATA_TYPE_FLOAT32, 2, reinterpret_cast<void*>(d + 4), dims,
                                strides, box, element_strides, CU_TENSOR_MAP_INTERLEAVE_NONE,
                                CU_TENSOR_MAP_SWIZZLE_NONE, CU_TENSOR_MAP_L2_PROMOTION_NONE,
                                CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE) == CUDA_ERROR_INVALID_VALUE);
  CU_CHECK(cuMemFree(d));
  std::printf("tensor maps ok\n");
}

void sticky_fault() {
  CUmodule module;
  CU_CHECK(cuModuleLoadData(&module, kImage));
  CUfunction fault, fill;
  CU_CHECK(cuModuleGetFunction(&fault, module, "fake_fault"));
  CU_CHECK(cuModuleGetFunction(&fill, module, "fake_fill_u32"));
  CU_CHECK(cuLaunchKernel(fault, 1, 1, 1, 1, 1, 1, 0, nullptr, nullptr, nullptr));
  EXPECT(cuCtxSynchronize() == CUDA_ERROR_ILLEGAL_ADDRESS);
  CUdeviceptr d = 0;
  unsigned value = 1;
  unsigned long long n = 1;
  void* args[] = {&d, &value, &n};
  // Posted, so vgpud never sees it: the guest refuses it from the context's sticky error.
  EXPECT(cuLaunchKernel(fill, 1, 1, 1, 1, 1, 1, 0, nullptr, args, nullptr) == CUDA_ERROR_ILLEGAL_ADDRESS);
  EXPECT(cuMemAlloc(&d, 16) == CUDA_ERROR_ILLEGAL_ADDRESS);
  CUcontext again;
  EXPECT(cuDevicePrimaryCtxRetain(&again, 0) == CUDA_ERROR_ILLEGAL_ADDRESS);
  (void)cuModuleUnload(module);  // the guest's handle goes whatever vgpud answers after the fault
  std::printf("sticky fault ok\n");
}

void errors_and_the_rest() {
  const char* s = nullptr;
  CU_CHECK(cuGetErrorName(CUDA_ERROR_INVALID_VALUE, &s));
  EXPECT(std::strcmp(s, "CUDA_ERROR_INVALID_VALUE") == 0);
  CU_CHECK(cuGetErrorString(CUDA_ERROR_OUT_OF_MEMORY, &s));
  EXPECT(std::strcmp(s, "out of memory") == 0);
  EXPECT(cuGetErrorName(static_cast<CUresult>(123456), &s) == CUDA_ERROR_INVALID_VALUE);
  // Not implemented: the driver's "not supported", not a crash.
  EXPECT(cuGraphicsUnregisterResource(nullptr) == CUDA_ERROR_NOT_SUPPORTED);
  const void* table = reinterpret_cast<const void*>(1);
  const CUuuid unknown = {{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}};
  EXPECT(cuGetExportTable(&table, &unknown) != CUDA_SUCCESS);
  EXPECT(table == nullptr);
}

}  // namespace

int main() {
  devices_and_versions();
  proc_address();
  contexts();
  memory();
  host_memory_and_ranges();
  pointers_and_streams();
  module_and_launch();
  library_and_kernel();
  link_and_jit_logs();
  limits_memsets_and_stream_values();
  tensor_maps();
  errors_and_the_rest();
  sticky_fault();
  CU_CHECK(cuDevicePrimaryCtxRelease(0));
  std::printf("driver_api ok\n");
  return 0;
}
