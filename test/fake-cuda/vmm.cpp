// fake-cuda (test double, never ships): virtual memory management. A reservation is PROT_NONE
// address space; a physical allocation is a memfd, so two mappings of one allocation show the
// same bytes, as on a GPU; a mapping is the memfd mapped over the reservation, and a device
// region (regions.cpp) of the context current at cuMemMap, so copies and kernels reach it.
//
// Unlike the driver, a mapping is readable and writable before cuMemSetAccess (which only
// records the flags cuMemGetAccess answers): touching a mapping without access faults the GPU
// natively, and would crash the process here.
//
// A shareable handle (CU_MEM_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR) is a copy of the memfd, so a
// process that imports it maps the exporter's pages; an imported allocation is charged to no
// device here (its exporter's process holds the memory).
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "internal.h"

using namespace vgpu::fake;

namespace {

constexpr std::size_t kGranularity = std::size_t{2} << 20;

struct Physical {
  int fd = -1;
  std::size_t size = 0;
  CUdevice device = 0;
  int references = 1;
  int mappings = 0;
  unsigned handle_types = 0;  // requestedHandleTypes: what cuMemExportToShareableHandle may give
  bool imported = false;      // cuMemImportFromShareableHandle's: the exporter's memory, charged there
};

struct Mapping {
  std::size_t size = 0;
  CUmemGenericAllocationHandle handle = 0;
  CUcontext context = nullptr;  // whose regions list it
  std::map<int, unsigned long long> access;  // device -> CUmemAccess_flags
};

// Taken after a context's mutex, never before.
std::mutex g_mu;
std::map<CUmemGenericAllocationHandle, Physical> g_physicals;
std::map<CUdeviceptr, std::size_t> g_reservations;
std::map<CUdeviceptr, Mapping> g_mappings;

bool aligned(std::uint64_t v) { return v % kGranularity == 0; }

bool pinned_device(const CUmemAllocationProp* prop) {
  int count = 0;
  return prop != nullptr && prop->type == CU_MEM_ALLOCATION_TYPE_PINNED &&
         prop->location.type == CU_MEM_LOCATION_TYPE_DEVICE && cuDeviceGetCount(&count) == CUDA_SUCCESS &&
         prop->location.id >= 0 && prop->location.id < count;
}

// The mapping holding `p`, or end().
std::map<CUdeviceptr, Mapping>::iterator mapping_at(CUdeviceptr p) {
  auto it = g_mappings.upper_bound(p);
  if (it == g_mappings.begin()) return g_mappings.end();
  --it;
  return p - it->first < it->second.size ? it : g_mappings.end();
}

void free_if_unused(CUmemGenericAllocationHandle h) {
  auto it = g_physicals.find(h);
  if (it == g_physicals.end() || it->second.references > 0 || it->second.mappings > 0) return;
  ::close(it->second.fd);
  if (!it->second.imported) {
    release_device_memory(it->second.device, it->second.size);
    count_free(it->second.size);
  }
  g_physicals.erase(it);
}

}  // namespace

FAKE_CUDA_API CUresult CUDAAPI cuMemGetAllocationGranularity(size_t* granularity, const CUmemAllocationProp* prop,
                                                            CUmemAllocationGranularity_flags) {
  if (granularity == nullptr || !pinned_device(prop)) return CUDA_ERROR_INVALID_VALUE;
  *granularity = kGranularity;
  return CUDA_SUCCESS;
}

FAKE_CUDA_API CUresult CUDAAPI cuMemAddressReserve(CUdeviceptr* ptr, size_t size, size_t alignment, CUdeviceptr,
                                                  unsigned long long flags) {
  if (ptr == nullptr || size == 0 || !aligned(size) || flags != 0) return CUDA_ERROR_INVALID_VALUE;
  if (alignment < kGranularity) alignment = kGranularity;
  if ((alignment & (alignment - 1)) != 0 || size > SIZE_MAX - alignment) return CUDA_ERROR_INVALID_VALUE;
  void* p = ::mmap(nullptr, size + alignment, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) return CUDA_ERROR_OUT_OF_MEMORY;
  const auto raw = reinterpret_cast<std::uintptr_t>(p);
  const std::uintptr_t base = (raw + alignment - 1) / alignment * alignment;
  if (base > raw) ::munmap(p, base - raw);
  if (alignment > base - raw) ::munmap(reinterpret_cast<void*>(base + size), alignment - (base - raw));
  std::lock_guard g(g_mu);
  g_reservations[base] = size;
  *ptr = base;
  return CUDA_SUCCESS;
}

FAKE_CUDA_API CUresult CUDAAPI cuMemAddressFree(CUdeviceptr ptr, size_t size) {
  std::lock_guard g(g_mu);
  auto it = g_reservations.find(ptr);
  if (it == g_reservations.end() || it->second != size) return CUDA_ERROR_INVALID_VALUE;
  auto m = g_mappings.lower_bound(ptr);
  if (m != g_mappings.end() && m->first < ptr + size) return CUDA_ERROR_INVALID_VALUE;  // still mapped
  ::munmap(reinterpret_cast<void*>(ptr), size);
  g_reservations.erase(it);
  return CUDA_SUCCESS;
}

FAKE_CUDA_API CUresult CUDAAPI cuMemCreate(CUmemGenericAllocationHandle* handle, size_t size,
                                          const CUmemAllocationProp* prop, unsigned long long flags) {
  if (handle == nullptr || size == 0 || !aligned(size) || flags != 0 || !pinned_device(prop))
    return CUDA_ERROR_INVALID_VALUE;
  if (!reserve_device_memory(prop->location.id, size)) return CUDA_ERROR_OUT_OF_MEMORY;
  // The name carries the device, which an importer reads back (ipc.cpp's cuMemImportFromShareableHandle).
  const int fd = ::memfd_create(("fake-cuda-vmm-" + std::to_string(prop->location.id)).c_str(), MFD_CLOEXEC);
  if (fd < 0 || ::ftruncate(fd, static_cast<off_t>(size)) != 0) {
    if (fd >= 0) ::close(fd);
    release_device_memory(prop->location.id, size);
    return CUDA_ERROR_OUT_OF_MEMORY;
  }
  count_allocation(size);
  std::lock_guard g(g_mu);
  const auto h = static_cast<CUmemGenericAllocationHandle>(next_handle());
  g_physicals[h] = Physical{fd, size, prop->location.id, 1, 0, static_cast<unsigned>(prop->requestedHandleTypes), false};
  *handle = h;
  return CUDA_SUCCESS;
}

FAKE_CUDA_API CUresult CUDAAPI cuMemRelease(CUmemGenericAllocationHandle handle) {
  std::lock_guard g(g_mu);
  auto it = g_physicals.find(handle);
  if (it == g_physicals.end() || it->second.references == 0) return CUDA_ERROR_INVALID_VALUE;
  --it->second.references;
  free_if_unused(handle);
  return CUDA_SUCCESS;
}

FAKE_CUDA_API CUresult CUDAAPI cuMemMap(CUdeviceptr ptr, size_t size, size_t offset,
                                       CUmemGenericAllocationHandle handle, unsigned long long flags) {
  Locked l;
  if (CUresult r = enter(l); r != CUDA_SUCCESS) return r;
  if (size == 0 || flags != 0 || !aligned(ptr) || !aligned(size) || !aligned(offset)) return CUDA_ERROR_INVALID_VALUE;
  std::lock_guard g(g_mu);
  auto p = g_physicals.find(handle);
  if (p == g_physicals.end() || offset > p->second.size || size > p->second.size - offset)
    return CUDA_ERROR_INVALID_VALUE;
  auto r = g_reservations.upper_bound(ptr);
  if (r == g_reservations.begin()) return CUDA_ERROR_INVALID_VALUE;
  --r;
  if (ptr - r->first >= r->second || size > r->second - (ptr - r->first)) return CUDA_ERROR_INVALID_VALUE;
  auto next = g_mappings.lower_bound(ptr);
  if (next != g_mappings.end() && next->first < ptr + size) return CUDA_ERROR_INVALID_VALUE;
  if (next != g_mappings.begin() && std::prev(next)->first + std::prev(next)->second.size > ptr)
    return CUDA_ERROR_INVALID_VALUE;
  void* at = ::mmap(reinterpret_cast<void*>(ptr), size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
                    p->second.fd, static_cast<off_t>(offset));
  if (at == MAP_FAILED) return CUDA_ERROR_OUT_OF_MEMORY;
  ++p->second.mappings;
  Mapping m;
  m.size = size;
  m.handle = handle;
  m.context = l->handle;
  g_mappings[ptr] = m;
  add_region(*l.ctx, ptr, Region{size, nullptr, true});
  return CUDA_SUCCESS;
}

FAKE_CUDA_API CUresult CUDAAPI cuMemUnmap(CUdeviceptr ptr, size_t size) {
  Locked l;
  if (CUresult r = enter(l, /*check_sticky=*/false); r != CUDA_SUCCESS) return r;
  const std::uint64_t end = ptr + size;
  std::vector<std::pair<CUcontext, CUdeviceptr>> elsewhere;  // regions other contexts list
  {
    std::lock_guard g(g_mu);
    // The range must be whole mappings, one after another.
    std::uint64_t at = ptr;
    for (auto it = g_mappings.find(ptr); at < end; ++it) {
      if (it == g_mappings.end() || it->first != at) return CUDA_ERROR_INVALID_VALUE;
      at += it->second.size;
    }
    if (size == 0 || at != end) return CUDA_ERROR_INVALID_VALUE;
    for (std::uint64_t cur = ptr; cur < end;) {
      auto it = g_mappings.find(cur);
      const Mapping m = it->second;
      // Back to reserved address space.
      ::mmap(reinterpret_cast<void*>(cur), m.size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED,
             -1, 0);
      if (m.context == l->handle) {
        drop_region(*l.ctx, cur);
      } else {
        elsewhere.emplace_back(m.context, cur);
      }
      g_mappings.erase(it);
      if (auto p = g_physicals.find(m.handle); p != g_physicals.end()) {
        --p->second.mappings;
        free_if_unused(m.handle);
      }
      cur += m.size;
    }
  }
  // Another context's regions, with its own lock (never taken under g_mu).
  for (const auto& [context, base] : elsewhere) {
    if (std::shared_ptr<Context> owner = find_context(context)) {
      std::lock_guard og(owner->mu);
      if (owner->regions.count(base) != 0) drop_region(*owner, base);
    }
  }
  return CUDA_SUCCESS;
}

FAKE_CUDA_API CUresult CUDAAPI cuMemSetAccess(CUdeviceptr ptr, size_t size, const CUmemAccessDesc* desc, size_t count) {
  if (size == 0 || desc == nullptr || count == 0) return CUDA_ERROR_INVALID_VALUE;
  std::lock_guard g(g_mu);
  for (std::uint64_t at = ptr; at < ptr + size;) {
    auto it = mapping_at(at);
    if (it == g_mappings.end()) return CUDA_ERROR_INVALID_VALUE;
    at = it->first + it->second.size;
  }
  for (std::uint64_t at = ptr; at < ptr + size;) {
    auto it = mapping_at(at);
    for (std::size_t i = 0; i < count; ++i) it->second.access[desc[i].location.id] = desc[i].flags;
    at = it->first + it->second.size;
  }
  return CUDA_SUCCESS;
}

FAKE_CUDA_API CUresult CUDAAPI cuMemGetAccess(unsigned long long* flags, const CUmemLocation* location, CUdeviceptr ptr) {
  if (flags == nullptr || location == nullptr) return CUDA_ERROR_INVALID_VALUE;
  std::lock_guard g(g_mu);
  auto it = mapping_at(ptr);
  if (it == g_mappings.end()) return CUDA_ERROR_INVALID_VALUE;
  auto a = it->second.access.find(location->id);
  *flags = a == it->second.access.end() ? 0ull : a->second;  // 0: CU_MEM_ACCESS_FLAGS_PROT_NONE
  return CUDA_SUCCESS;
}

FAKE_CUDA_API CUresult CUDAAPI cuMemRetainAllocationHandle(CUmemGenericAllocationHandle* handle, void* addr) {
  if (handle == nullptr) return CUDA_ERROR_INVALID_VALUE;
  std::lock_guard g(g_mu);
  auto it = mapping_at(reinterpret_cast<CUdeviceptr>(addr));
  if (it == g_mappings.end()) return CUDA_ERROR_INVALID_VALUE;
  ++g_physicals.at(it->second.handle).references;
  *handle = it->second.handle;
  return CUDA_SUCCESS;
}

// Shareable handles: the descriptor is a copy of the allocation's memfd, which another process
// receives with SCM_RIGHTS (or pidfd_getfd) and imports; both then map the same pages.
FAKE_CUDA_API CUresult CUDAAPI cuMemExportToShareableHandle(void* shareableHandle, CUmemGenericAllocationHandle handle,
                                                           CUmemAllocationHandleType handleType,
                                                           unsigned long long flags) {
  if (!initialized()) return CUDA_ERROR_NOT_INITIALIZED;
  if (shareableHandle == nullptr || flags != 0) return CUDA_ERROR_INVALID_VALUE;
  if (raw_enum(&handleType) != CU_MEM_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR) return CUDA_ERROR_NOT_SUPPORTED;
  std::lock_guard g(g_mu);
  auto it = g_physicals.find(handle);
  if (it == g_physicals.end() || it->second.references == 0) return CUDA_ERROR_INVALID_VALUE;
  // Only an allocation made to be shared this way (as the driver refuses the others).
  if ((it->second.handle_types & CU_MEM_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR) == 0 && !it->second.imported)
    return CUDA_ERROR_INVALID_VALUE;
  const int fd = ::fcntl(it->second.fd, F_DUPFD_CLOEXEC, 0);
  if (fd < 0) return CUDA_ERROR_OUT_OF_MEMORY;
  std::memcpy(shareableHandle, &fd, sizeof fd);
  return CUDA_SUCCESS;
}

FAKE_CUDA_API CUresult CUDAAPI cuMemImportFromShareableHandle(CUmemGenericAllocationHandle* handle, void* osHandle,
                                                             CUmemAllocationHandleType shHandleType) {
  if (!initialized()) return CUDA_ERROR_NOT_INITIALIZED;
  if (handle == nullptr) return CUDA_ERROR_INVALID_VALUE;
  if (raw_enum(&shHandleType) != CU_MEM_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR) return CUDA_ERROR_NOT_SUPPORTED;
  const int given = static_cast<int>(reinterpret_cast<std::intptr_t>(osHandle));
  // One of this fake's allocations: a memfd named for its device (cuMemCreate).
  char link[256] = {};
  const std::string self = "/proc/self/fd/" + std::to_string(given);
  const ssize_t n = ::readlink(self.c_str(), link, sizeof link - 1);
  int device = -1;
  struct stat st {};
  if (n <= 0 || std::sscanf(link, "/memfd:fake-cuda-vmm-%d", &device) != 1 || ::fstat(given, &st) != 0 ||
      st.st_size <= 0 || !aligned(static_cast<std::uint64_t>(st.st_size)))
    return CUDA_ERROR_INVALID_VALUE;
  const int fd = ::fcntl(given, F_DUPFD_CLOEXEC, 0);
  if (fd < 0) return CUDA_ERROR_OUT_OF_MEMORY;
  std::lock_guard g(g_mu);
  const auto h = static_cast<CUmemGenericAllocationHandle>(next_handle());
  g_physicals[h] = Physical{fd, static_cast<std::size_t>(st.st_size), device, 1, 0, CU_MEM_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR,
                            true};
  *handle = h;
  return CUDA_SUCCESS;
}
