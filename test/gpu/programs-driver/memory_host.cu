// memory_host: device allocations, memsets and page-locked host memory through the driver API.
// Proves cuMemGetInfo; cuMemAlloc of odd sizes with cuMemGetAddressRange from an interior
// pointer; cuPointerGetAttribute and cuPointerGetAttributes (memory type, device pointer,
// context, range start/size, managed, device ordinal, mapped) for device, pinned and registered
// memory, and an error for a plain malloc pointer; cuMemsetD8/D16/D32 at offsets and their Async
// variants on a stream, checked against a host model; cuMemAllocHost and cuMemHostAlloc with
// PORTABLE, DEVICEMAP, WRITECOMBINED (cuMemHostGetFlags, copies both ways);
// cuMemHostGetDevicePointer on DEVICEMAP memory and on cuMemHostRegister'ed memory, written by a
// kernel and read on the host; register twice / unregister twice errors; cuMemFreeHost, cuMemFree.
// Unified addressing: a kernel given the host pointer of cuMemAllocHost memory itself, with no
// cuMemHostGetDevicePointer, as XLA's timer does; the device pointer attribute equals it.
// blobs: cubin
#if defined(__CUDACC__)
extern "C" __global__ void add_u32(unsigned int* p, unsigned int v, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) p[i] += v + static_cast<unsigned int>(i);
}
#else
#include <vector>

#include "driver_common.h"
#include "drv_blobs.h"

static CUfunction g_add;

static void launch_add(CUdeviceptr p, unsigned int v, int n, CUstream s) {
  void* params[] = {&p, &v, &n};
  CHECK(cuLaunchKernel(g_add, (n + 255) / 256, 1, 1, 256, 1, 1, 0, s, params, nullptr));
}

// Prints the attributes of PTR fetched in one cuPointerGetAttributes call; addresses only as
// relations to BASE (the allocation's start) and context as primary or not.
static void print_attrs(const char* label, CUdeviceptr ptr, CUdeviceptr base, CUcontext primary) {
  CUpointer_attribute at[] = {CU_POINTER_ATTRIBUTE_MEMORY_TYPE,      CU_POINTER_ATTRIBUTE_CONTEXT,
                              CU_POINTER_ATTRIBUTE_RANGE_START_ADDR, CU_POINTER_ATTRIBUTE_RANGE_SIZE,
                              CU_POINTER_ATTRIBUTE_IS_MANAGED,       CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL,
                              CU_POINTER_ATTRIBUTE_MAPPED};
  uint64_t v[7] = {0, 0, 0, 0, 0, 0, 0};
  void* data[7];
  for (int i = 0; i < 7; ++i) data[i] = &v[i];
  CHECK(cuPointerGetAttributes(7, at, data, ptr));
  std::printf("%s: type=%u ctx_is_primary=%d range_start_is_base=%d range_size=%llu managed=%d "
              "ordinal=%d mapped=%d\n",
              label, static_cast<unsigned int>(v[0]), reinterpret_cast<CUcontext>(v[1]) == primary,
              v[2] == base, static_cast<unsigned long long>(v[3]), v[4] != 0,
              static_cast<int>(static_cast<uint32_t>(v[5])), v[6] != 0);
}

int main() {
  CUdevice dev;
  CUcontext primary = init_primary(&dev);
  CUmodule mod;
  CHECK(cuModuleLoadData(&mod, drv_cubin));
  CHECK(cuModuleGetFunction(&g_add, mod, "add_u32"));

  size_t free_b = 0, total_b = 0;
  CHECK(cuMemGetInfo(&free_b, &total_b));
  std::printf("cuMemGetInfo total=%zu free_le_total=%d\n", total_b, free_b <= total_b ? 1 : 0);
  EXPECT(total_b > 0 && free_b <= total_b);

  // Allocations of odd sizes: the range of an interior pointer, and attributes.
  const size_t sizes[] = {1, 1000, 4096, 1u << 20, (3u << 20) + 5};
  for (size_t sz : sizes) {
    CUdeviceptr p, base;
    size_t range = 0;
    CHECK(cuMemAlloc(&p, sz));
    CHECK(cuMemGetAddressRange(&base, &range, p + sz / 2));
    std::printf("alloc %zu: range_base_is_ptr=%d range_size=%zu\n", sz, base == p ? 1 : 0, range);
    EXPECT(base == p && range >= sz);
    unsigned int type = 0;
    CHECK(cuPointerGetAttribute(&type, CU_POINTER_ATTRIBUTE_MEMORY_TYPE, p));
    EXPECT(type == CU_MEMORYTYPE_DEVICE);
    CUdeviceptr dp = 0;
    CHECK(cuPointerGetAttribute(&dp, CU_POINTER_ATTRIBUTE_DEVICE_POINTER, p));
    EXPECT(dp == p);
    if (sz == 4096) print_attrs("device+100", p + 100, p, primary);
    CHECK(cuMemFree(p));
  }

  // Memsets at offsets, then their Async variants on a stream, against a host model.
  const size_t kBytes = 1u << 16;
  CUdeviceptr d;
  CHECK(cuMemAlloc(&d, kBytes));
  std::vector<unsigned char> model(kBytes), got(kBytes);
  auto set8 = [&](size_t off, unsigned char v, size_t n) { std::memset(&model[off], v, n); };
  auto set16 = [&](size_t off, uint16_t v, size_t n) {
    for (size_t i = 0; i < n; ++i) std::memcpy(&model[off + 2 * i], &v, 2);
  };
  auto set32 = [&](size_t off, uint32_t v, size_t n) {
    for (size_t i = 0; i < n; ++i) std::memcpy(&model[off + 4 * i], &v, 4);
  };
  CHECK(cuMemsetD8(d, 0xAB, kBytes));
  set8(0, 0xAB, kBytes);
  CHECK(cuMemsetD8(d + 3, 0x11, 1001));
  set8(3, 0x11, 1001);
  CHECK(cuMemsetD16(d + 2050, 0xBEEF, 777));
  set16(2050, 0xBEEF, 777);
  CHECK(cuMemsetD32(d + 8192, 0xDEADBEEFu, 3001));
  set32(8192, 0xDEADBEEFu, 3001);
  CHECK(cuMemcpyDtoH(got.data(), d, kBytes));
  EXPECT(got == model);
  print_hex("memset_sync", fnv1a(got.data(), kBytes));
  CUstream s;
  CHECK(cuStreamCreate(&s, CU_STREAM_NON_BLOCKING));
  CHECK(cuMemsetD8Async(d + 40001, 0x5C, 333, s));
  set8(40001, 0x5C, 333);
  CHECK(cuMemsetD16Async(d + 50000, 0x0102, 1500, s));
  set16(50000, 0x0102, 1500);
  CHECK(cuMemsetD32Async(d + 60000, 0x80706050u, 1000, s));
  set32(60000, 0x80706050u, 1000);
  CHECK(cuMemcpyDtoHAsync(got.data(), d, kBytes, s));
  CHECK(cuStreamSynchronize(s));
  EXPECT(got == model);
  print_hex("memset_async", fnv1a(got.data(), kBytes));
  CHECK(cuMemFree(d));

  // Page-locked host memory: allocation flags, copies both ways, attributes.
  const size_t kHost = 1u << 20;
  const int kWords = static_cast<int>(kHost / 4);
  CUdeviceptr dev_buf;
  CHECK(cuMemAlloc(&dev_buf, kHost));
  const struct { const char* name; int how; unsigned int flags; } kinds[] = {
      {"cuMemAllocHost", 0, 0},
      {"HostAlloc(PORTABLE)", 1, CU_MEMHOSTALLOC_PORTABLE},
      {"HostAlloc(DEVICEMAP)", 1, CU_MEMHOSTALLOC_DEVICEMAP},
      {"HostAlloc(WRITECOMBINED)", 1, CU_MEMHOSTALLOC_WRITECOMBINED},
      {"HostAlloc(PORTABLE|DEVICEMAP)", 1, CU_MEMHOSTALLOC_PORTABLE | CU_MEMHOSTALLOC_DEVICEMAP},
  };
  std::vector<unsigned char> expect(kHost);
  for (const auto& k : kinds) {
    void* h = nullptr;
    if (k.how == 0) {
      CHECK(cuMemAllocHost(&h, kHost));
    } else {
      CHECK(cuMemHostAlloc(&h, kHost, k.flags));
    }
    unsigned int got_flags = 0;
    CHECK(cuMemHostGetFlags(&got_flags, h));
    fill_pattern(h, kHost, k.flags + 7);
    std::memcpy(expect.data(), h, kHost);
    CHECK(cuMemcpyHtoD(dev_buf, h, kHost));
    launch_add(dev_buf, 1, kWords, nullptr);
    CHECK(cuCtxSynchronize());
    std::memset(h, 0, kHost);
    CHECK(cuMemcpyDtoH(h, dev_buf, kHost));
    for (int i = 0; i < kWords; ++i) {
      uint32_t w;
      std::memcpy(&w, &expect[4 * i], 4);
      w += 1 + static_cast<uint32_t>(i);
      std::memcpy(&expect[4 * i], &w, 4);
    }
    EXPECT(std::memcmp(h, expect.data(), kHost) == 0);
    std::printf("%s: flags=0x%x roundtrip=0x%016llx\n", k.name, got_flags,
                static_cast<unsigned long long>(fnv1a(h, kHost)));
    print_attrs(k.name, reinterpret_cast<CUdeviceptr>(h) + 64, reinterpret_cast<CUdeviceptr>(h),
                primary);
    if (k.flags & CU_MEMHOSTALLOC_DEVICEMAP) {
      // Zero-copy: a kernel writes the host memory through its device pointer.
      CUdeviceptr mapped;
      CHECK(cuMemHostGetDevicePointer(&mapped, h, 0));
      std::memset(h, 0, kHost);
      launch_add(mapped, 40, 1000, nullptr);
      CHECK(cuCtxSynchronize());
      const unsigned int* w = static_cast<const unsigned int*>(h);
      EXPECT(w[0] == 40 && w[999] == 40 + 999 && w[1000] == 0);
      std::printf("%s: zero-copy w[0]=%u w[999]=%u w[1000]=%u\n", k.name, w[0], w[999], w[1000]);
    }
    CHECK(cuMemFreeHost(h));
  }

  // Unified addressing: page-locked memory has one address on the CPU and the GPU, so a kernel
  // may be handed the host pointer itself.
  {
    int unified = 0;
    CHECK(cuDeviceGetAttribute(&unified, CU_DEVICE_ATTRIBUTE_UNIFIED_ADDRESSING, dev));
    std::printf("unified addressing=%d\n", unified);
    EXPECT(unified == 1);
    void* h = nullptr;
    CHECK(cuMemAllocHost(&h, kHost));
    std::memset(h, 0, kHost);
    const CUdeviceptr as_device = reinterpret_cast<CUdeviceptr>(h);
    CUdeviceptr attr = 0;
    CHECK(cuPointerGetAttribute(&attr, CU_POINTER_ATTRIBUTE_DEVICE_POINTER, as_device));
    std::printf("pinned: device pointer is the host pointer=%d\n", attr == as_device);
    EXPECT(attr == as_device);
    launch_add(as_device, 3, 4096, nullptr);
    CHECK(cuCtxSynchronize());
    const unsigned int* w = static_cast<const unsigned int*>(h);
    std::printf("pinned: kernel on the host pointer w[0]=%u w[4095]=%u w[4096]=%u\n", w[0], w[4095], w[4096]);
    EXPECT(w[0] == 3 && w[4095] == 3 + 4095 && w[4096] == 0);
    CHECK(cuMemFreeHost(h));
  }

  // Registered memory: mapped for the device, used by a kernel and by copies.
  void* reg = std::aligned_alloc(4096, kHost);
  EXPECT(reg != nullptr);
  std::memset(reg, 0, kHost);
  CHECK(cuMemHostRegister(reg, kHost, CU_MEMHOSTREGISTER_DEVICEMAP | CU_MEMHOSTREGISTER_PORTABLE));
  EXPECT_RES("register_twice", cuMemHostRegister(reg, kHost, 0),
             CUDA_ERROR_HOST_MEMORY_ALREADY_REGISTERED);
  print_attrs("registered", reinterpret_cast<CUdeviceptr>(reg) + 4096,
              reinterpret_cast<CUdeviceptr>(reg), primary);
  CUdeviceptr reg_dev;
  CHECK(cuMemHostGetDevicePointer(&reg_dev, reg, 0));
  launch_add(reg_dev, 7, kWords, nullptr);
  CHECK(cuCtxSynchronize());
  const unsigned int* rw = static_cast<const unsigned int*>(reg);
  std::printf("registered zero-copy w[0]=%u w[12345]=%u\n", rw[0], rw[12345]);
  EXPECT(rw[0] == 7 && rw[12345] == 7 + 12345);
  CHECK(cuMemcpyHtoD(dev_buf, reg, kHost));
  CHECK(cuMemsetD8(dev_buf, 0x7F, 16));
  CHECK(cuMemcpyDtoH(reg, dev_buf, kHost));
  print_hex("registered_roundtrip", fnv1a(reg, kHost));
  CHECK(cuMemHostUnregister(reg));
  EXPECT_RES("unregister_twice", cuMemHostUnregister(reg), CUDA_ERROR_HOST_MEMORY_NOT_REGISTERED);

  // Plain pageable memory is unknown to the driver.
  unsigned int type = 0;
  EXPECT_FAIL("pointer_attribute_of_malloc",
              cuPointerGetAttribute(&type, CU_POINTER_ATTRIBUTE_MEMORY_TYPE,
                                    reinterpret_cast<CUdeviceptr>(reg)));
  std::free(reg);

  CHECK(cuMemFree(dev_buf));
  CHECK(cuStreamDestroy(s));
  CHECK(cuModuleUnload(mod));
  CHECK(cuDevicePrimaryCtxRelease(dev));
  std::printf("memory_host PASS\n");
  return 0;
}
#endif
