// fake-cuda (test double, never ships): legacy IPC between processes (cuIpcGetMemHandle,
// cuIpcOpenMemHandle_v2, cuIpcCloseMemHandle, cuIpcGetEventHandle, cuIpcOpenEventHandle), so that
// vgpud's channel workers, each a process of its own, can share memory in the tests.
//
// An allocation is anonymous memory until it is exported: then its bytes move into a memfd mapped
// over the same addresses, and the handle names the exporting process and that descriptor. An
// importer opens /proc/<pid>/fd/<n> (the tests run as root, or as the exporter's user) and maps
// it, so both processes see the same bytes, as on a GPU. An event handle names the exporting
// process only: work runs at once here, so an event opened elsewhere has nothing to wait for.
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cinttypes>
#include <fstream>
#include <map>
#include <mutex>
#include <string>

#include "internal.h"

using namespace vgpu::fake;

namespace {

constexpr char kMemMagic[8] = {'F', 'A', 'K', 'E', 'I', 'P', 'C', 'M'};
constexpr char kEventMagic[8] = {'F', 'A', 'K', 'E', 'I', 'P', 'C', 'E'};
constexpr std::size_t kPage = 4096;

struct MemHandle {
  char magic[8];
  std::int32_t pid;
  std::int32_t fd;
  std::uint64_t size;    // the allocation's
  std::uint64_t length;  // mapped: whole pages
  std::uint64_t inode;   // of the memfd, which tells one export from a later one at the same address
};
static_assert(sizeof(MemHandle) <= sizeof(CUipcMemHandle));

struct EventHandle {
  char magic[8];
  std::int32_t pid;
  std::int32_t reserved;
  std::uint64_t event;
};
static_assert(sizeof(EventHandle) <= sizeof(CUipcEventHandle));

struct Exported {
  int fd = -1;
  std::uint64_t inode = 0;
};
struct Opened {
  CUdeviceptr base = 0;
  int count = 0;
};

std::mutex g_mu;  // taken after a context's mutex, never before
std::map<CUdeviceptr, Exported> g_exported;  // by the allocation's base
// By the context that opened it and what it opened (exporter pid, inode).
std::map<std::pair<CUcontext, std::pair<std::int32_t, std::uint64_t>>, Opened> g_opened;

std::size_t pages(std::size_t bytes) {
  const std::size_t rounded = (bytes + kAllocAlignment - 1) / kAllocAlignment * kAllocAlignment;
  return (rounded + kPage - 1) / kPage * kPage;
}

// Whether the memory at `base` is still the memfd with this inode (and not a later allocation
// that got the same address after the exported one was freed).
bool still_exported(CUdeviceptr base, std::uint64_t inode) {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  char start[32];
  std::snprintf(start, sizeof start, "%" PRIx64 "-", static_cast<std::uint64_t>(base));
  while (std::getline(maps, line)) {
    if (line.rfind(start, 0) != 0) continue;
    // start-end perms offset dev inode path
    unsigned long long ino = 0;
    char perms[8], dev[16];
    unsigned long long lo = 0, hi = 0, off = 0;
    if (std::sscanf(line.c_str(), "%llx-%llx %7s %llx %15s %llu", &lo, &hi, perms, &off, dev, &ino) != 6) return false;
    return ino == inode;
  }
  return false;
}

// Moves the allocation's bytes into a memfd mapped at the same addresses.
CUresult export_memory(CUdeviceptr base, std::size_t size, Exported* out) {
  const std::size_t length = pages(size);
  const int fd = ::memfd_create("fake-cuda-ipc", MFD_CLOEXEC);
  if (fd < 0) return CUDA_ERROR_OUT_OF_MEMORY;
  struct stat st {};
  if (::write(fd, reinterpret_cast<const void*>(base), length) != static_cast<ssize_t>(length) ||
      ::fstat(fd, &st) != 0 ||
      ::mmap(reinterpret_cast<void*>(base), length, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0) ==
          MAP_FAILED) {
    ::close(fd);
    return CUDA_ERROR_OUT_OF_MEMORY;
  }
  *out = Exported{fd, static_cast<std::uint64_t>(st.st_ino)};
  return CUDA_SUCCESS;
}

}  // namespace

FAKE_CUDA_API CUresult CUDAAPI cuIpcGetMemHandle(CUipcMemHandle* pHandle, CUdeviceptr dptr) {
  Locked l;
  if (CUresult r = enter(l); r != CUDA_SUCCESS) return r;
  if (pHandle == nullptr) return CUDA_ERROR_INVALID_VALUE;
  // The cuMemAlloc allocation holding dptr (not a global, a mapping or memory opened here).
  auto it = l->regions.upper_bound(dptr);
  if (it == l->regions.begin()) return CUDA_ERROR_INVALID_VALUE;
  --it;
  const Region& region = it->second;
  if (dptr - it->first >= region.size || region.owner != nullptr || region.mapping) return CUDA_ERROR_INVALID_VALUE;
  std::lock_guard g(g_mu);
  auto found = g_exported.find(it->first);
  if (found == g_exported.end() || !still_exported(it->first, found->second.inode)) {
    if (found != g_exported.end()) ::close(found->second.fd);  // an earlier allocation's
    Exported e;
    if (CUresult r = export_memory(it->first, region.size, &e); r != CUDA_SUCCESS) return r;
    found = g_exported.insert_or_assign(it->first, e).first;
  }
  MemHandle h{};
  std::memcpy(h.magic, kMemMagic, sizeof h.magic);
  h.pid = static_cast<std::int32_t>(::getpid());
  h.fd = found->second.fd;
  h.size = region.size;
  h.length = pages(region.size);
  h.inode = found->second.inode;
  std::memset(pHandle, 0, sizeof *pHandle);
  std::memcpy(pHandle->reserved, &h, sizeof h);
  return CUDA_SUCCESS;
}

FAKE_CUDA_API CUresult CUDAAPI cuIpcOpenMemHandle_v2(CUdeviceptr* pdptr, CUipcMemHandle handle, unsigned int Flags) {
  Locked l;
  if (CUresult r = enter(l); r != CUDA_SUCCESS) return r;
  MemHandle h;
  std::memcpy(&h, handle.reserved, sizeof h);
  if (pdptr == nullptr || (Flags & ~unsigned{CU_IPC_MEM_LAZY_ENABLE_PEER_ACCESS}) != 0 ||
      std::memcmp(h.magic, kMemMagic, sizeof h.magic) != 0 || h.size == 0 || h.length < h.size)
    return CUDA_ERROR_INVALID_VALUE;
  // The driver refuses a process its own memory.
  if (h.pid == static_cast<std::int32_t>(::getpid())) return CUDA_ERROR_INVALID_CONTEXT;
  std::lock_guard g(g_mu);
  Opened& opened = g_opened[{l->handle, {h.pid, h.inode}}];
  if (opened.count > 0 && l->regions.count(opened.base) != 0) {
    ++opened.count;  // the same address again, one more reference
    *pdptr = opened.base;
    return CUDA_SUCCESS;
  }
  const std::string path = "/proc/" + std::to_string(h.pid) + "/fd/" + std::to_string(h.fd);
  const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  struct stat st {};
  if (fd < 0 || ::fstat(fd, &st) != 0 || static_cast<std::uint64_t>(st.st_ino) != h.inode ||
      static_cast<std::uint64_t>(st.st_size) < h.length) {
    if (fd >= 0) ::close(fd);
    g_opened.erase({l->handle, {h.pid, h.inode}});
    return CUDA_ERROR_INVALID_VALUE;  // the exporter, or its export, is gone
  }
  // Address space device_free() knows how to give back, with the exporter's pages over it.
  void* at = device_alloc(h.length);
  if (at == nullptr ||
      ::mmap(at, h.length, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0) == MAP_FAILED) {
    ::close(fd);
    if (at != nullptr) device_free(at);
    g_opened.erase({l->handle, {h.pid, h.inode}});
    return CUDA_ERROR_OUT_OF_MEMORY;
  }
  ::close(fd);
  const auto base = reinterpret_cast<CUdeviceptr>(at);
  // Charged to the exporter: a region no cuMemFree may free (as a cuMemMap mapping).
  add_region(*l.ctx, base, Region{h.size, nullptr, /*mapping=*/true});
  opened = Opened{base, 1};
  *pdptr = base;
  return CUDA_SUCCESS;
}

FAKE_CUDA_API CUresult CUDAAPI cuIpcCloseMemHandle(CUdeviceptr dptr) {
  Locked l;
  if (CUresult r = enter(l, /*check_sticky=*/false); r != CUDA_SUCCESS) return r;
  std::lock_guard g(g_mu);
  for (auto it = g_opened.begin(); it != g_opened.end(); ++it) {
    if (it->first.first != l->handle || it->second.base != dptr || it->second.count == 0) continue;
    if (--it->second.count == 0) {
      if (l->regions.count(dptr) != 0) drop_region(*l.ctx, dptr);
      g_opened.erase(it);
    }
    return CUDA_SUCCESS;
  }
  return CUDA_ERROR_INVALID_VALUE;
}

FAKE_CUDA_API CUresult CUDAAPI cuIpcGetEventHandle(CUipcEventHandle* pHandle, CUevent event) {
  Locked l;
  if (CUresult r = enter(l); r != CUDA_SUCCESS) return r;
  if (pHandle == nullptr) return CUDA_ERROR_INVALID_VALUE;
  auto it = l->events.find(event);
  if (it == l->events.end()) return CUDA_ERROR_INVALID_HANDLE;
  if ((it->second.flags & CU_EVENT_INTERPROCESS) == 0) return CUDA_ERROR_INVALID_VALUE;
  EventHandle h{};
  std::memcpy(h.magic, kEventMagic, sizeof h.magic);
  h.pid = static_cast<std::int32_t>(::getpid());
  h.event = reinterpret_cast<std::uintptr_t>(event);
  std::memset(pHandle, 0, sizeof *pHandle);
  std::memcpy(pHandle->reserved, &h, sizeof h);
  return CUDA_SUCCESS;
}

FAKE_CUDA_API CUresult CUDAAPI cuIpcOpenEventHandle(CUevent* phEvent, CUipcEventHandle handle) {
  Locked l;
  if (CUresult r = enter(l); r != CUDA_SUCCESS) return r;
  EventHandle h;
  std::memcpy(&h, handle.reserved, sizeof h);
  if (phEvent == nullptr || std::memcmp(h.magic, kEventMagic, sizeof h.magic) != 0 || h.pid <= 0)
    return CUDA_ERROR_INVALID_VALUE;
  if (h.pid == static_cast<std::int32_t>(::getpid())) return CUDA_ERROR_INVALID_CONTEXT;
  if (::kill(h.pid, 0) != 0) return CUDA_ERROR_INVALID_VALUE;  // the exporter is gone
  const auto e = new_handle<CUevent>();
  Event event;
  event.flags = CU_EVENT_INTERPROCESS | CU_EVENT_DISABLE_TIMING;
  l->events.emplace(e, std::move(event));
  *phEvent = e;
  return CUDA_SUCCESS;
}
