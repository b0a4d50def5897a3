// virtual_memory: virtual memory management as an allocator that grows and shrinks in place
// (PyTorch's expandable segments work this way). A reservation of 64 granules; a segment grown
// granule by granule with cuMemCreate + cuMemMap + cuMemSetAccess, a kernel writing across the
// whole segment after each step and the sum checked on the host; then shrunk by unmapping and
// releasing from the top, and regrown; one allocation mapped at two addresses (a write through
// one seen through the other); a handle retained from an address and its properties; the
// access flags read back; a copy and a memset across the seams; and what the driver refuses
// (half a mapping, an overlap). The granularity is printed: it is the GPU's.
// blobs: cubin
#if defined(__CUDACC__)
extern "C" __global__ void stamp(unsigned* p, unsigned long long n, unsigned salt) {
  for (unsigned long long i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x)
    p[i] = static_cast<unsigned>(i) * 2654435761u + salt;
}
#else
#include <vector>

#include "driver_common.h"
#include "drv_blobs.h"

static CUfunction g_stamp;
static size_t g_gran = 0;
static CUdevice g_dev = 0;

static CUmemAllocationProp prop_on(CUdevice dev) {
  CUmemAllocationProp prop{};
  prop.type = CU_MEM_ALLOCATION_TYPE_PINNED;
  prop.location.type = CU_MEM_LOCATION_TYPE_DEVICE;
  prop.location.id = dev;
  return prop;
}

static void allow(CUdeviceptr p, size_t n) {
  CUmemAccessDesc d{};
  d.location.type = CU_MEM_LOCATION_TYPE_DEVICE;
  d.location.id = g_dev;
  d.flags = CU_MEM_ACCESS_FLAGS_PROT_READWRITE;
  CHECK(cuMemSetAccess(p, n, &d, 1));
}

// Stamps n words at p on the GPU and returns their checksum read back on the host.
static uint64_t stamp_and_sum(CUdeviceptr p, size_t n, unsigned salt) {
  unsigned long long count = n;
  void* params[] = {&p, &count, &salt};
  CHECK(cuLaunchKernel(g_stamp, 128, 1, 1, 256, 1, 1, 0, nullptr, params, nullptr));
  CHECK(cuCtxSynchronize());
  std::vector<unsigned> h(n);
  CHECK(cuMemcpyDtoH(h.data(), p, n * 4));
  for (size_t i = 0; i < n; ++i) EXPECT(h[i] == static_cast<unsigned>(i) * 2654435761u + salt);
  return fnv1a(h.data(), h.size() * 4);
}

int main() {
  init_primary(&g_dev);
  CUmodule mod;
  CHECK(cuModuleLoadData(&mod, drv_cubin));
  CHECK(cuModuleGetFunction(&g_stamp, mod, "stamp"));
  int vmm = 0;
  CHECK(cuDeviceGetAttribute(&vmm, CU_DEVICE_ATTRIBUTE_VIRTUAL_MEMORY_MANAGEMENT_SUPPORTED, g_dev));
  const CUmemAllocationProp prop = prop_on(g_dev);
  size_t recommended = 0;
  CHECK(cuMemGetAllocationGranularity(&g_gran, &prop, CU_MEM_ALLOC_GRANULARITY_MINIMUM));
  CHECK(cuMemGetAllocationGranularity(&recommended, &prop, CU_MEM_ALLOC_GRANULARITY_RECOMMENDED));
  std::printf("vmm_supported=%d granularity=%zu recommended=%zu\n", vmm, g_gran, recommended);
  const size_t g = g_gran;

  const size_t kSlots = 64;
  CUdeviceptr base = 0;
  CHECK(cuMemAddressReserve(&base, kSlots * g, 0, 0, 0));
  EXPECT(base % g == 0);

  // Grow one granule at a time, each step stamped over the whole segment.
  std::vector<CUmemGenericAllocationHandle> handles;
  uint64_t total = 0;
  for (size_t step = 1; step <= 8; ++step) {
    CUmemGenericAllocationHandle h;
    CHECK(cuMemCreate(&h, g, &prop, 0));
    CHECK(cuMemMap(base + (step - 1) * g, g, 0, h, 0));
    allow(base + (step - 1) * g, g);
    handles.push_back(h);
    total ^= stamp_and_sum(base, step * g / 4, static_cast<unsigned>(step));
  }
  std::printf("grown to 8 granules: checksum %016llx\n", static_cast<unsigned long long>(total));

  // Shrink from the top to 3 granules, then regrow to 6 with allocations of two granules.
  for (size_t step = 8; step > 3; --step) {
    CHECK(cuMemUnmap(base + (step - 1) * g, g));
    CHECK(cuMemRelease(handles.back()));
    handles.pop_back();
  }
  uint64_t after = stamp_and_sum(base, 3 * g / 4, 77);
  for (size_t at = 3; at < 7; at += 2) {
    CUmemGenericAllocationHandle h;
    CHECK(cuMemCreate(&h, 2 * g, &prop, 0));
    CHECK(cuMemMap(base + at * g, 2 * g, 0, h, 0));
    allow(base + at * g, 2 * g);
    handles.push_back(h);
  }
  after ^= stamp_and_sum(base, 7 * g / 4, 78);
  std::printf("shrunk to 3 and regrown to 7: checksum %016llx\n", static_cast<unsigned long long>(after));

  // A copy and a memset across the seams (granules 2|3 and 4|5).
  std::vector<unsigned> pattern(g / 2);
  for (size_t i = 0; i < pattern.size(); ++i) pattern[i] = static_cast<unsigned>(i ^ 0x5a5a5a5au);
  const CUdeviceptr seam = base + 3 * g - g / 4;
  CHECK(cuMemcpyHtoD(seam, pattern.data(), pattern.size() * 4));
  CHECK(cuMemsetD32(base + 5 * g - 64, 0xabcdef01u, 32));
  std::vector<unsigned> back(pattern.size());
  CHECK(cuMemcpyDtoH(back.data(), seam, back.size() * 4));
  size_t set = 0;
  for (size_t i = 0; i < back.size(); ++i) {
    const CUdeviceptr at = seam + i * 4;
    if (at >= base + 5 * g - 64 && at < base + 5 * g + 64) {
      EXPECT(back[i] == 0xabcdef01u);
      ++set;
    } else {
      EXPECT(back[i] == pattern[i]);
    }
  }
  std::printf("copy across two seams: %zu words, %zu set by the memset\n", back.size(), set);

  // One allocation, two addresses: the top two-granule allocation again at slot 40.
  CHECK(cuMemMap(base + 40 * g, 2 * g, 0, handles.back(), 0));
  allow(base + 40 * g, 2 * g);
  const uint64_t via_first = stamp_and_sum(base + 5 * g, 2 * g / 4, 99);
  std::vector<unsigned> alias(2 * g / 4);
  CHECK(cuMemcpyDtoH(alias.data(), base + 40 * g, alias.size() * 4));
  std::printf("alias sees the same bytes: %s\n", fnv1a(alias.data(), alias.size() * 4) == via_first ? "yes" : "no");

  // Handles from addresses, properties, access.
  CUmemGenericAllocationHandle retained;
  CHECK(cuMemRetainAllocationHandle(&retained, reinterpret_cast<void*>(base + 41 * g + 12)));
  CUmemAllocationProp got{};
  CHECK(cuMemGetAllocationPropertiesFromHandle(&got, retained));
  std::printf("retained: same handle %s, type %d, location %d:%d\n", retained == handles.back() ? "yes" : "no",
              static_cast<int>(got.type), static_cast<int>(got.location.type), got.location.id);
  CHECK(cuMemRelease(retained));
  CUmemLocation loc{CU_MEM_LOCATION_TYPE_DEVICE, g_dev};
  unsigned long long flags = 0;
  CHECK(cuMemGetAccess(&flags, &loc, base + g));
  std::printf("access flags %llu\n", flags);
  CUdeviceptr range_base = 0;
  size_t range_size = 0;
  CHECK(cuMemGetAddressRange(&range_base, &range_size, base + 41 * g));
  std::printf("address range of the alias: +%llu granules, %zu granules\n",
              static_cast<unsigned long long>((range_base - base) / g), range_size / g);

  // Refused by the driver.
  EXPECT_FAIL("unmap half a mapping", cuMemUnmap(base + 3 * g, g));
  EXPECT_FAIL("map over a mapping", cuMemMap(base + 4 * g, g, 0, handles.front(), 0));

  // Everything goes: mappings first, then the handles, then the reservation.
  CHECK(cuMemUnmap(base + 40 * g, 2 * g));
  for (size_t at = 0; at < 3; ++at) CHECK(cuMemUnmap(base + at * g, g));
  CHECK(cuMemUnmap(base + 3 * g, 2 * g));
  CHECK(cuMemUnmap(base + 5 * g, 2 * g));
  for (CUmemGenericAllocationHandle h : handles) CHECK(cuMemRelease(h));
  CHECK(cuMemAddressFree(base, kSlots * g));
  CHECK(cuModuleUnload(mod));
  std::printf("virtual_memory done\n");
  return 0;
}
#endif
