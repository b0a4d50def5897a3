// Virtual memory management through vgpu's libcuda.so.1 and a real vgpud (fake driver): a
// reservation, physical allocations mapped into it side by side and used as one stretch (copies,
// memsets and a kernel across the seam), access set and read back, a handle retained from an
// address and its properties, the same allocation mapped twice (one memory, two views), growing
// by mapping one more allocation and shrinking by unmapping, an allocation released while still
// mapped; unified addressing answers for mapped memory; what vgpud refuses (half a mapping, an
// overlap, a range in no reservation, an offset past the allocation, a stale handle), exporting an
// allocation made without a shareable handle type (the driver's refusal; ipc_shareable shares
// one) and what vgpu does not offer (a fabric handle type).
//
// "leave": exits holding a reservation, a mapping and an allocation, which vgpud releases.
// "limit" (a tenant with 8 MiB of device memory): physical allocations count against it, an
// allocation past it fails with CUDA_ERROR_OUT_OF_MEMORY, and a release makes room again.
#include <cuda.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "guest_check.h"

namespace {

const char kImage[] =
    "FAKECUBIN 1\n"
    "kernel fake_fill_u32 8,4,8\n";

CUmemAllocationProp device_prop() {
  CUmemAllocationProp prop{};
  prop.type = CU_MEM_ALLOCATION_TYPE_PINNED;
  prop.location.type = CU_MEM_LOCATION_TYPE_DEVICE;
  prop.location.id = 0;
  return prop;
}

CUmemGenericAllocationHandle create(size_t bytes) {
  const CUmemAllocationProp prop = device_prop();
  CUmemGenericAllocationHandle h = 0;
  CU_CHECK(cuMemCreate(&h, bytes, &prop, 0));
  return h;
}

void read_write(CUdeviceptr p, size_t bytes) {
  CUmemAccessDesc access{};
  access.location.type = CU_MEM_LOCATION_TYPE_DEVICE;
  access.location.id = 0;
  access.flags = CU_MEM_ACCESS_FLAGS_PROT_READWRITE;
  CU_CHECK(cuMemSetAccess(p, bytes, &access, 1));
}

std::vector<uint32_t> words_at(CUdeviceptr p, size_t count) {
  std::vector<uint32_t> w(count);
  CU_CHECK(cuMemcpyDtoH(w.data(), p, count * 4));
  return w;
}

void main_run() {
  int supported = 0;
  CU_CHECK(cuDeviceGetAttribute(&supported, CU_DEVICE_ATTRIBUTE_VIRTUAL_MEMORY_MANAGEMENT_SUPPORTED, 0));
  EXPECT(supported == 1);
  const CUmemAllocationProp prop = device_prop();
  size_t g = 0, recommended = 0;
  CU_CHECK(cuMemGetAllocationGranularity(&g, &prop, CU_MEM_ALLOC_GRANULARITY_MINIMUM));
  CU_CHECK(cuMemGetAllocationGranularity(&recommended, &prop, CU_MEM_ALLOC_GRANULARITY_RECOMMENDED));
  EXPECT(g > 0 && recommended >= g);

  // Two allocations side by side in one reservation: one stretch of 3 granules.
  CUdeviceptr base = 0;
  CU_CHECK(cuMemAddressReserve(&base, 8 * g, 0, 0, 0));
  EXPECT(base != 0 && base % g == 0);
  const CUmemGenericAllocationHandle a = create(2 * g), b = create(g);
  CU_CHECK(cuMemMap(base, 2 * g, 0, a, 0));
  CU_CHECK(cuMemMap(base + 2 * g, g, 0, b, 0));
  read_write(base, 3 * g);
  unsigned long long flags = 0;
  CUmemLocation dev0{CU_MEM_LOCATION_TYPE_DEVICE, 0};
  CU_CHECK(cuMemGetAccess(&flags, &dev0, base + g));
  EXPECT(flags == CU_MEM_ACCESS_FLAGS_PROT_READWRITE);

  // A memset and a copy across the seam, and a kernel writing over it.
  CU_CHECK(cuMemsetD32(base, 0x11111111u, 3 * g / 4));
  std::vector<uint32_t> pattern(1024);
  for (size_t i = 0; i < pattern.size(); ++i) pattern[i] = static_cast<uint32_t>(i * 7 + 1);
  const CUdeviceptr seam = base + 2 * g - 2048;
  CU_CHECK(cuMemcpyHtoD(seam, pattern.data(), pattern.size() * 4));
  EXPECT(words_at(seam, pattern.size()) == pattern);
  EXPECT(words_at(base + 3 * g - 4, 1)[0] == 0x11111111u);
  CUmodule module;
  CU_CHECK(cuModuleLoadData(&module, kImage));
  CUfunction fill;
  CU_CHECK(cuModuleGetFunction(&fill, module, "fake_fill_u32"));
  CUdeviceptr target = base + 2 * g - 16;
  unsigned value = 9;
  unsigned long long count = 8;
  void* args[] = {&target, &value, &count};
  CU_CHECK(cuLaunchKernel(fill, 1, 1, 1, 8, 1, 1, 0, nullptr, args, nullptr));
  CU_CHECK(cuCtxSynchronize());
  EXPECT(words_at(target, 8) == std::vector<uint32_t>(8, 9u));

  // Unified addressing: a mapped address is device memory, of the mapping's range.
  CUdeviceptr range_base = 0;
  size_t range_size = 0;
  CU_CHECK(cuMemGetAddressRange(&range_base, &range_size, base + 2 * g + 5));
  EXPECT(range_base == base + 2 * g && range_size == g);
  unsigned memory_type = 0;
  CU_CHECK(cuPointerGetAttribute(&memory_type, CU_POINTER_ATTRIBUTE_MEMORY_TYPE, base + 100));
  EXPECT(memory_type == CU_MEMORYTYPE_DEVICE);

  // A handle from an address is the allocation's, with its properties.
  CUmemGenericAllocationHandle retained = 0;
  CU_CHECK(cuMemRetainAllocationHandle(&retained, reinterpret_cast<void*>(base + g + 3)));
  EXPECT(retained == a);
  CUmemAllocationProp got{};
  CU_CHECK(cuMemGetAllocationPropertiesFromHandle(&got, retained));
  EXPECT(got.type == CU_MEM_ALLOCATION_TYPE_PINNED && got.location.id == 0);
  CU_CHECK(cuMemRelease(retained));

  // One allocation, two views: a's second granule mapped again at the reservation's end.
  CU_CHECK(cuMemMap(base + 7 * g, g, g, a, 0));
  read_write(base + 7 * g, g);
  // The pattern's first half lies at the end of a's second granule (the rest is in b), less the
  // last four words, which the kernel overwrote.
  EXPECT(words_at(base + 8 * g - 2048, 508) == std::vector<uint32_t>(pattern.begin(), pattern.begin() + 508));

  // Refused: half a mapping, an overlap, no reservation, an offset past the allocation, flags.
  EXPECT_RC(cuMemUnmap(base, g), CUDA_ERROR_INVALID_VALUE);
  EXPECT_RC(cuMemMap(base + g, g, 0, b, 0), CUDA_ERROR_INVALID_VALUE);
  CUdeviceptr plain = 0;
  CU_CHECK(cuMemAlloc(&plain, g));
  EXPECT_RC(cuMemMap(plain, g, 0, b, 0), CUDA_ERROR_INVALID_VALUE);
  EXPECT_RC(cuMemMap(base + 5 * g, g, g, b, 0), CUDA_ERROR_INVALID_VALUE);
  EXPECT_RC(cuMemMap(base + 5 * g, g, 0, b, 1), CUDA_ERROR_INVALID_VALUE);
  EXPECT_RC(cuMemFree(base), CUDA_ERROR_INVALID_VALUE);  // a mapping is not cuMemAlloc's
  CU_CHECK(cuMemFree(plain));

  // Shrink: b unmapped and released; grow: a new allocation where it was, then one more after.
  CU_CHECK(cuMemUnmap(base + 2 * g, g));
  CU_CHECK(cuMemRelease(b));
  EXPECT_RC(cuMemRelease(b), CUDA_ERROR_INVALID_VALUE);
  EXPECT_RC(cuMemGetAllocationPropertiesFromHandle(&got, b), CUDA_ERROR_INVALID_VALUE);
  const CUmemGenericAllocationHandle c = create(2 * g);
  CU_CHECK(cuMemMap(base + 2 * g, 2 * g, 0, c, 0));
  read_write(base + 2 * g, 2 * g);
  CU_CHECK(cuMemsetD32(base + 2 * g, 0x22222222u, 2 * g / 4));
  EXPECT(words_at(base + 2 * g - 4, 2) == (std::vector<uint32_t>{9u, 0x22222222u}));  // the kernel's 9 before c

  // Released while mapped: the memory stays until its last mapping goes.
  CU_CHECK(cuMemRelease(a));
  EXPECT(words_at(seam, 508) == std::vector<uint32_t>(pattern.begin(), pattern.begin() + 508));
  CU_CHECK(cuMemUnmap(base, 2 * g));
  CU_CHECK(cuMemUnmap(base + 7 * g, g));

  // Made without a shareable handle type: the driver exports no descriptor for it. Not offered:
  // fabric handles.
  const CUmemGenericAllocationHandle d = create(g);
  int fd = -1;
  EXPECT_RC(cuMemExportToShareableHandle(&fd, d, CU_MEM_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR, 0),
            CUDA_ERROR_INVALID_VALUE);
  CUmemAllocationProp fabric = device_prop();
  fabric.requestedHandleTypes = CU_MEM_HANDLE_TYPE_FABRIC;
  CUmemGenericAllocationHandle unused = 0;
  EXPECT_RC(cuMemCreate(&unused, g, &fabric, 0), CUDA_ERROR_NOT_SUPPORTED);
  CU_CHECK(cuMemRelease(d));

  // The reservation goes with c still mapped in it: vgpud unmaps it first.
  CU_CHECK(cuMemRelease(c));
  CU_CHECK(cuMemAddressFree(base, 8 * g));
  EXPECT_RC(cuMemAddressFree(base, 8 * g), CUDA_ERROR_INVALID_VALUE);
  CU_CHECK(cuModuleUnload(module));

  // The driver answers these without a current context (NVIDIA's memMapIPCDrv relies on it).
  CUresult without_context = CUDA_ERROR_UNKNOWN;
  std::thread([&] {
    CUcontext none = nullptr;
    CUmemGenericAllocationHandle h = 0;
    CUdeviceptr at = 0;
    if (cuCtxGetCurrent(&none) != CUDA_SUCCESS || none != nullptr) return;
    if ((without_context = cuMemCreate(&h, g, &prop, 0)) != CUDA_SUCCESS) return;
    if ((without_context = cuMemAddressReserve(&at, g, 0, 0, 0)) != CUDA_SUCCESS) return;
    if ((without_context = cuMemMap(at, g, 0, h, 0)) != CUDA_SUCCESS) return;
    if ((without_context = cuMemUnmap(at, g)) != CUDA_SUCCESS) return;
    if ((without_context = cuMemAddressFree(at, g)) != CUDA_SUCCESS) return;
    without_context = cuMemRelease(h);
  }).join();
  EXPECT(without_context == CUDA_SUCCESS);
  std::printf("virtual_memory ok\n");
}

void limit_run() {
  const CUmemAllocationProp prop = device_prop();
  size_t g = 0;
  CU_CHECK(cuMemGetAllocationGranularity(&g, &prop, CU_MEM_ALLOC_GRANULARITY_MINIMUM));
  const size_t limit = size_t{8} << 20;
  std::vector<CUmemGenericAllocationHandle> held;
  for (size_t used = 0; used + g <= limit; used += g) held.push_back(create(g));
  CUmemGenericAllocationHandle extra = 0;
  EXPECT_RC(cuMemCreate(&extra, g, &prop, 0), CUDA_ERROR_OUT_OF_MEMORY);
  CUdeviceptr plain = 0;
  EXPECT_RC(cuMemAlloc(&plain, 4096), CUDA_ERROR_OUT_OF_MEMORY);  // one budget for both
  // A mapped allocation released keeps its bytes until unmapped.
  CUdeviceptr base = 0;
  CU_CHECK(cuMemAddressReserve(&base, g, 0, 0, 0));
  CU_CHECK(cuMemMap(base, g, 0, held.back(), 0));
  CU_CHECK(cuMemRelease(held.back()));
  held.pop_back();
  EXPECT_RC(cuMemCreate(&extra, g, &prop, 0), CUDA_ERROR_OUT_OF_MEMORY);
  CU_CHECK(cuMemUnmap(base, g));
  CU_CHECK(cuMemCreate(&extra, g, &prop, 0));
  CU_CHECK(cuMemRelease(extra));
  for (CUmemGenericAllocationHandle h : held) CU_CHECK(cuMemRelease(h));
  CU_CHECK(cuMemAddressFree(base, g));
  std::printf("virtual_memory limit ok\n");
}

// Exits with a reservation, a mapping and an allocation still held: vgpud releases them.
void leave_run() {
  const CUmemAllocationProp prop = device_prop();
  size_t g = 0;
  CU_CHECK(cuMemGetAllocationGranularity(&g, &prop, CU_MEM_ALLOC_GRANULARITY_MINIMUM));
  CUdeviceptr base = 0;
  CU_CHECK(cuMemAddressReserve(&base, 2 * g, 0, 0, 0));
  CU_CHECK(cuMemMap(base, g, 0, create(g), 0));
  (void)create(g);
  std::printf("virtual_memory leave ok\n");
}

}  // namespace

int main(int argc, char** argv) {
  CU_CHECK(cuInit(0));
  CUcontext ctx;
  CU_CHECK(cuDevicePrimaryCtxRetain(&ctx, 0));
  CU_CHECK(cuCtxSetCurrent(ctx));
  if (argc > 1 && std::string(argv[1]) == "limit") {
    limit_run();
  } else if (argc > 1 && std::string(argv[1]) == "leave") {
    leave_run();
    return 0;
  } else {
    main_run();
  }
  CU_CHECK(cuDevicePrimaryCtxRelease(0));
  return 0;
}
