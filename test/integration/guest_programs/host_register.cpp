// cuMemHostRegister through vgpu's libcuda.so.1 and a real vgpud (fake driver): registered
// private anonymous memory is moved into the channel's shared heap, so the program's own
// addresses alias a heap block that vgpud registered with the GPU (zero-copy, mapped);
// unregistering puts private memory back with the latest contents. What cannot be moved safely
// (a file mapping, a page shared with an earlier registration, more than the heap holds) stays
// where it is: recorded, copies staged, no device pointer.
//
//   host_register                run every check, print "host_register ok"
//   host_register copy aliased   one copy each way through registered anonymous memory
//   host_register copy staged    the same through a registered file mapping
// (the test reads vgpud's log to see which copy path each took).
#include <cuda.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "guest_check.h"

namespace {

const char kImage[] = "FAKECUBIN 1\nkernel fake_fill_u32 8,4,8\n";
const size_t kPage = static_cast<size_t>(sysconf(_SC_PAGESIZE));

// One line of /proc/self/maps: the mapping that holds an address.
struct Mapping {
  uintptr_t start = 0, end = 0;
  std::string perms;
  std::string path;
};

Mapping mapping_of(const void* p) {
  const auto address = reinterpret_cast<uintptr_t>(p);
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    Mapping m;
    char perms[8] = {};
    char path[512] = {};
    unsigned long start = 0, end = 0;
    if (std::sscanf(line.c_str(), "%lx-%lx %7s %*s %*s %*s %511[^\n]", &start, &end, perms, path) < 3) continue;
    if (address < start || address >= end) continue;
    m.start = start, m.end = end, m.perms = perms, m.path = path;
    return m;
  }
  return {};
}

uint8_t* map_anonymous(size_t bytes) {
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  EXPECT(p != MAP_FAILED);
  return static_cast<uint8_t*>(p);
}

void fill(uint8_t* p, size_t n, unsigned seed) {
  for (size_t i = 0; i < n; ++i) p[i] = static_cast<uint8_t>(i * 31 + seed);
}
bool holds(const uint8_t* p, size_t n, unsigned seed) {
  for (size_t i = 0; i < n; ++i)
    if (p[i] != static_cast<uint8_t>(i * 31 + seed)) return false;
  return true;
}

// A page-locked block from the shared heap and its device address: the heap lies at one offset
// from its device address, so any mapped pointer's heap alias is pinned + (device - pinned's).
struct HeapProbe {
  uint8_t* pinned = nullptr;
  CUdeviceptr device = 0;
  uint8_t* alias_of(CUdeviceptr mapped) const { return pinned + (mapped - device); }
};

HeapProbe probe_heap() {
  HeapProbe h;
  CU_CHECK(cuMemAllocHost(reinterpret_cast<void**>(&h.pinned), 4096));
  CU_CHECK(cuMemHostGetDevicePointer(&h.device, h.pinned, 0));
  return h;
}

// Registered anonymous memory, unaligned: its pages now alias a heap block (the bytes around it
// on those pages too), kernels and copies reach it there, and unregistering restores private
// memory with what was written last.
void aliased(const HeapProbe& heap, CUfunction fill_u32) {
  const size_t pages = 4;
  uint8_t* buf = map_anonymous(pages * kPage);
  fill(buf, pages * kPage, 1);
  uint8_t* p = buf + 100;
  const size_t size = 2 * kPage;  // pages 0..2 of buf
  CU_CHECK(cuMemHostRegister(p, size, CU_MEMHOSTREGISTER_DEVICEMAP));
  EXPECT(holds(buf, pages * kPage, 1));  // nothing moved as far as the program can see
  const Mapping m = mapping_of(p);
  EXPECT(m.perms == "rw-s" && m.start == reinterpret_cast<uintptr_t>(buf));
  EXPECT(m.end == reinterpret_cast<uintptr_t>(buf + 3 * kPage));  // whole pages, no more
  EXPECT(mapping_of(buf + 3 * kPage).perms == "rw-p");

  CUdeviceptr mapped = 0;
  CU_CHECK(cuMemHostGetDevicePointer(&mapped, p, 0));
  uint8_t* alias = heap.alias_of(mapped);
  const Mapping heap_mapping = mapping_of(heap.pinned);
  EXPECT(reinterpret_cast<uintptr_t>(alias) >= heap_mapping.start &&
         reinterpret_cast<uintptr_t>(alias + size) <= heap_mapping.end);
  EXPECT((reinterpret_cast<uintptr_t>(alias) - 100) % kPage == 0);  // the block is page-aligned
  EXPECT(holds(alias - 100, 3 * kPage, 1));
  p[5] = 0xa1;  // the program's writes are the heap's bytes, and the other way round
  EXPECT(alias[5] == 0xa1);
  alias[size - 1] = 0xb2;
  EXPECT(p[size - 1] == 0xb2);
  CUdeviceptr attribute = 0;
  CU_CHECK(cuPointerGetAttribute(&attribute, CU_POINTER_ATTRIBUTE_DEVICE_POINTER, reinterpret_cast<CUdeviceptr>(p + 8)));
  EXPECT(attribute == mapped + 8);
  int is_mapped = 0;
  CU_CHECK(cuPointerGetAttribute(&is_mapped, CU_POINTER_ATTRIBUTE_MAPPED, reinterpret_cast<CUdeviceptr>(p)));
  EXPECT(is_mapped == 1);

  // A kernel writes the program's memory through the mapped pointer (zero-copy).
  CUdeviceptr target = mapped + 4;  // 4-aligned: p is buf + 100
  unsigned value = 0x5eed1234u;
  unsigned long long words = 64;
  void* args[] = {&target, &value, &words};
  CU_CHECK(cuLaunchKernel(fill_u32, 1, 1, 1, 64, 1, 1, 0, nullptr, args, nullptr));
  CU_CHECK(cuCtxSynchronize());
  for (size_t i = 0; i < words; ++i) {
    uint32_t w;
    std::memcpy(&w, p + 4 + 4 * i, sizeof w);
    EXPECT(w == value);
  }

  // Copies both ways.
  CUdeviceptr d = 0;
  CU_CHECK(cuMemAlloc(&d, size));
  fill(p, size, 7);
  CU_CHECK(cuMemcpyHtoD(d, p, size));
  std::vector<uint8_t> back(size);
  CU_CHECK(cuMemcpyDtoH(back.data(), d, size));
  EXPECT(holds(back.data(), size, 7));
  CU_CHECK(cuMemsetD8(d, 0x3c, size));
  CU_CHECK(cuMemcpyDtoHAsync(p, d, size, nullptr));
  CU_CHECK(cuCtxSynchronize());
  for (size_t i = 0; i < size; ++i) EXPECT(p[i] == 0x3c);
  CU_CHECK(cuMemFree(d));

  // Written last, after everything else: unregistering keeps it.
  fill(buf, pages * kPage, 9);
  CU_CHECK(cuMemHostUnregister(p));
  EXPECT(mapping_of(p).perms == "rw-p" && mapping_of(p).path.empty());
  EXPECT(holds(buf, pages * kPage, 9));
  p[0] = 0x77;
  EXPECT(alias[0] == static_cast<uint8_t>(100 * 31 + 9));  // no longer the heap's bytes
  EXPECT(cuMemHostUnregister(p) == CUDA_ERROR_HOST_MEMORY_NOT_REGISTERED);
  EXPECT(cuMemHostGetDevicePointer(&mapped, p, 0) == CUDA_ERROR_INVALID_VALUE);
  EXPECT(munmap(buf, pages * kPage) == 0);
  std::printf("aliased ok\n");
}

// Two unaligned registrations on one page: the first moves it, the second cannot move it again
// and is staged; both keep the driver's bookkeeping and their bytes.
void shared_page() {
  uint8_t* buf = map_anonymous(2 * kPage);
  fill(buf, 2 * kPage, 3);
  CU_CHECK(cuMemHostRegister(buf + 16, 100, 0));
  EXPECT(cuMemHostRegister(buf + 50, 10, 0) == CUDA_ERROR_HOST_MEMORY_ALREADY_REGISTERED);
  CU_CHECK(cuMemHostRegister(buf + 300, 100, 0));
  CUdeviceptr first = 0, second = 0;
  CU_CHECK(cuMemHostGetDevicePointer(&first, buf + 16, 0));
  EXPECT(cuMemHostGetDevicePointer(&second, buf + 300, 0) == CUDA_ERROR_NOT_SUPPORTED);
  int is_mapped = 1;
  CU_CHECK(cuPointerGetAttribute(&is_mapped, CU_POINTER_ATTRIBUTE_MAPPED, reinterpret_cast<CUdeviceptr>(buf + 300)));
  EXPECT(is_mapped == 0);
  EXPECT(holds(buf, 2 * kPage, 3));

  CUdeviceptr d = 0;
  CU_CHECK(cuMemAlloc(&d, 100));
  CU_CHECK(cuMemcpyHtoD(d, buf + 300, 100));  // staged
  CU_CHECK(cuMemcpyDtoH(buf + 16, d, 100));   // the heap path
  EXPECT(std::memcmp(buf + 16, buf + 300, 100) == 0);
  CU_CHECK(cuMemFree(d));
  std::vector<uint8_t> expected(buf, buf + 2 * kPage);
  CU_CHECK(cuMemHostUnregister(buf + 16));
  CU_CHECK(cuMemHostUnregister(buf + 300));
  EXPECT(std::memcmp(buf, expected.data(), expected.size()) == 0);
  EXPECT(mapping_of(buf).perms == "rw-p");
  EXPECT(munmap(buf, 2 * kPage) == 0);
  std::printf("shared page ok\n");
}

// A temporary file, mapped shared or private: never moved.
void file_backed() {
  char path[] = "/tmp/vgpu-host-register-XXXXXX";
  const int fd = mkstemp(path);
  EXPECT(fd >= 0);
  EXPECT(ftruncate(fd, static_cast<off_t>(2 * kPage)) == 0);
  for (int flags : {MAP_SHARED, MAP_PRIVATE}) {
    auto* p = static_cast<uint8_t*>(mmap(nullptr, 2 * kPage, PROT_READ | PROT_WRITE, flags, fd, 0));
    EXPECT(p != MAP_FAILED);
    fill(p, 2 * kPage, 5);
    CU_CHECK(cuMemHostRegister(p, 2 * kPage, 0));
    CUdeviceptr mapped = 0;
    EXPECT(cuMemHostGetDevicePointer(&mapped, p, 0) == CUDA_ERROR_NOT_SUPPORTED);
    EXPECT(mapping_of(p).path == path);
    CUdeviceptr d = 0;
    CU_CHECK(cuMemAlloc(&d, 2 * kPage));
    CU_CHECK(cuMemcpyHtoD(d, p, 2 * kPage));
    CU_CHECK(cuMemsetD8(d, 0x11, kPage));
    CU_CHECK(cuMemcpyDtoH(p, d, 2 * kPage));
    EXPECT(p[0] == 0x11 && p[kPage - 1] == 0x11 && holds(p + kPage, kPage, 5 + static_cast<unsigned>(kPage * 31)));
    CU_CHECK(cuMemFree(d));
    CU_CHECK(cuMemHostUnregister(p));
    EXPECT(mapping_of(p).path == path);
    EXPECT(munmap(p, 2 * kPage) == 0);
  }
  close(fd);
  unlink(path);
  std::printf("file backed ok\n");
}

// Read-only pages move only with CU_MEMHOSTREGISTER_READ_ONLY, and stay read-only; writable
// pages registered READ_ONLY stay writable for the program (the flag speaks of the device).
void read_only() {
  uint8_t* buf = map_anonymous(kPage);
  fill(buf, kPage, 2);
  EXPECT(mprotect(buf, kPage, PROT_READ) == 0);
  CU_CHECK(cuMemHostRegister(buf, kPage, 0));
  CUdeviceptr mapped = 0;
  EXPECT(cuMemHostGetDevicePointer(&mapped, buf, 0) == CUDA_ERROR_NOT_SUPPORTED);
  CU_CHECK(cuMemHostUnregister(buf));

  CU_CHECK(cuMemHostRegister(buf, kPage, CU_MEMHOSTREGISTER_READ_ONLY));
  CU_CHECK(cuMemHostGetDevicePointer(&mapped, buf, 0));
  EXPECT(mapping_of(buf).perms == "r--s");
  EXPECT(holds(buf, kPage, 2));
  CUdeviceptr d = 0;
  CU_CHECK(cuMemAlloc(&d, kPage));
  CU_CHECK(cuMemcpyHtoD(d, buf, kPage));
  std::vector<uint8_t> back(kPage);
  CU_CHECK(cuMemcpyDtoH(back.data(), d, kPage));
  EXPECT(holds(back.data(), kPage, 2));
  CU_CHECK(cuMemFree(d));
  CU_CHECK(cuMemHostUnregister(buf));
  EXPECT(mapping_of(buf).perms == "r--p");
  EXPECT(holds(buf, kPage, 2));
  EXPECT(munmap(buf, kPage) == 0);

  uint8_t* writable = map_anonymous(kPage);
  CU_CHECK(cuMemHostRegister(writable, kPage, CU_MEMHOSTREGISTER_READ_ONLY));
  CU_CHECK(cuMemHostGetDevicePointer(&mapped, writable, 0));
  EXPECT(mapping_of(writable).perms == "rw-s");
  writable[1] = 1;
  CU_CHECK(cuMemHostUnregister(writable));
  EXPECT(writable[1] == 1);
  EXPECT(munmap(writable, kPage) == 0);
  std::printf("read only ok\n");
}

// More than the heap holds (64 MiB by default) stays where it is; so does what is not memory of
// this shim to move at all.
void the_rest() {
  const size_t huge = size_t{256} << 20;
  void* big = mmap(nullptr, huge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  EXPECT(big != MAP_FAILED);
  CU_CHECK(cuMemHostRegister(big, huge, 0));
  CUdeviceptr mapped = 0;
  EXPECT(cuMemHostGetDevicePointer(&mapped, big, 0) == CUDA_ERROR_NOT_SUPPORTED);
  CU_CHECK(cuMemHostUnregister(big));
  EXPECT(munmap(big, huge) == 0);

  int local = 0;
  EXPECT(cuMemHostUnregister(&local) == CUDA_ERROR_HOST_MEMORY_NOT_REGISTERED);
  uint8_t* io = map_anonymous(kPage);
  EXPECT(cuMemHostRegister(io, kPage, CU_MEMHOSTREGISTER_IOMEMORY) == CUDA_ERROR_NOT_SUPPORTED);
  EXPECT(munmap(io, kPage) == 0);
  std::printf("the rest ok\n");
}

// One copy each way through registered memory, nothing else that could take the heap path.
void copy(bool file) {
  char path[] = "/tmp/vgpu-host-register-XXXXXX";
  int fd = -1;
  uint8_t* p = nullptr;
  if (file) {
    fd = mkstemp(path);
    EXPECT(fd >= 0 && ftruncate(fd, static_cast<off_t>(kPage)) == 0);
    p = static_cast<uint8_t*>(mmap(nullptr, kPage, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
    EXPECT(p != MAP_FAILED);
  } else {
    p = map_anonymous(kPage);
  }
  CU_CHECK(cuMemHostRegister(p, kPage, 0));
  fill(p, kPage, 4);
  CUdeviceptr d = 0;
  CU_CHECK(cuMemAlloc(&d, kPage));
  CU_CHECK(cuMemcpyHtoD(d, p, kPage));
  std::memset(p, 0, kPage);
  CU_CHECK(cuMemcpyDtoH(p, d, kPage));
  EXPECT(holds(p, kPage, 4));
  CU_CHECK(cuMemFree(d));
  CU_CHECK(cuMemHostUnregister(p));
  EXPECT(munmap(p, kPage) == 0);
  if (file) {
    close(fd);
    unlink(path);
  }
  std::printf("copied through %s memory\n", file ? "file-backed" : "anonymous");
}

}  // namespace

int main(int argc, char** argv) {
  CU_CHECK(cuInit(0));
  CUcontext primary;
  CU_CHECK(cuDevicePrimaryCtxRetain(&primary, 0));
  CU_CHECK(cuCtxSetCurrent(primary));
  if (argc == 3 && std::strcmp(argv[1], "copy") == 0) {
    copy(std::strcmp(argv[2], "staged") == 0);
  } else {
    const HeapProbe heap = probe_heap();
    CUmodule module;
    CU_CHECK(cuModuleLoadData(&module, kImage));
    CUfunction fill_u32;
    CU_CHECK(cuModuleGetFunction(&fill_u32, module, "fake_fill_u32"));
    aliased(heap, fill_u32);
    shared_page();
    file_backed();
    read_only();
    the_rest();
    CU_CHECK(cuModuleUnload(module));
    CU_CHECK(cuMemFreeHost(heap.pinned));
    std::printf("host_register ok\n");
  }
  CU_CHECK(cuDevicePrimaryCtxRelease(0));
  return 0;
}
