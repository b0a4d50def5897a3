// fake-cuda (test double, never ships): device memory (real host memory from mmap, so copies
// are memcpy), host registration, copies and memset. Everything runs at once on the calling
// thread; the "Async" calls are synchronous. As with the real driver's unified addressing, a
// copy or memset may name device memory of any live context of the process; only the stream
// must belong to the current one.
//
// On a capturing stream the copies and memsets are validated as usual, then recorded as graph
// nodes instead of running (capture_gate, graph.h).
#include "graph.h"

#include <cstring>
#include <iterator>

using namespace vgpu::fake;

FAKE_CUDA_API CUresult CUDAAPI cuMemAlloc_v2(CUdeviceptr* dptr, size_t bytesize) {
  Locked l;
  if (CUresult r = enter(l); r != CUDA_SUCCESS) return r;
  if (dptr == nullptr || bytesize == 0) return CUDA_ERROR_INVALID_VALUE;
  if (!reserve_device_memory(l->device, bytesize)) return CUDA_ERROR_OUT_OF_MEMORY;
  void* p = device_alloc(bytesize);
  if (p == nullptr) {
    release_device_memory(l->device, bytesize);
    return CUDA_ERROR_OUT_OF_MEMORY;
  }
  const auto base = reinterpret_cast<CUdeviceptr>(p);
  add_region(*l.ctx, base, Region{bytesize, nullptr});
  count_allocation(bytesize);
  l.lock.unlock();
  *dptr = base;
  write_state_file();
  return CUDA_SUCCESS;
}

FAKE_CUDA_API CUresult CUDAAPI cuMemFree_v2(CUdeviceptr dptr) {
  Locked l;
  if (CUresult r = enter(l); r != CUDA_SUCCESS) return r;
  auto it = l->regions.find(dptr);
  if (it == l->regions.end() || it->second.owner != nullptr || it->second.mapping)
    return CUDA_ERROR_INVALID_VALUE;
  // Graph memory: its allocation node keeps the address, and the memory, until the context goes
  // (graph_memory.cpp); a free only ends this allocation's lifetime.
  if (it->second.graph) return CUDA_SUCCESS;
  const std::size_t size = it->second.size;
  release_device_memory(l->device, size);
  count_free(size);
  drop_region(*l.ctx, dptr);
  l.lock.unlock();
  write_state_file();
  return CUDA_SUCCESS;
}

FAKE_CUDA_API CUresult CUDAAPI cuMemGetInfo_v2(size_t* free, size_t* total) {
  Locked l;
  if (CUresult r = enter(l); r != CUDA_SUCCESS) return r;
  if (free == nullptr || total == nullptr) return CUDA_ERROR_INVALID_VALUE;
  const std::uint64_t t = config().total_memory;
  const std::uint64_t used = device_used(l->device);
  *total = t;
  *free = used >= t ? 0 : t - used;
  return CUDA_SUCCESS;
}

FAKE_CUDA_API CUresult CUDAAPI cuMemHostRegister_v2(void* p, size_t bytesize, unsigned int Flags) {
  Locked l;
  if (CUresult r = enter(l); r != CUDA_SUCCESS) return r;
  constexpr unsigned kKnown = CU_MEMHOSTREGISTER_PORTABLE | CU_MEMHOSTREGISTER_DEVICEMAP |
                              CU_MEMHOSTREGISTER_IOMEMORY | CU_MEMHOSTREGISTER_READ_ONLY;
  const auto base = reinterpret_cast<std::uintptr_t>(p);
  if (p == nullptr || bytesize == 0 || (Flags & ~kKnown) != 0 || bytesize > UINTPTR_MAX - base) {
    return CUDA_ERROR_INVALID_VALUE;
  }
  auto& ranges = l->host_registered;
  auto next = ranges.lower_bound(base);
  if (next != ranges.end() && next->first < base + bytesize) return CUDA_ERROR_HOST_MEMORY_ALREADY_REGISTERED;
  if (next != ranges.begin()) {
    auto prev = std::prev(next);
    if (prev->first + prev->second > base) return CUDA_ERROR_HOST_MEMORY_ALREADY_REGISTERED;
  }
  ranges.emplace(base, bytesize);
  return CUDA_SUCCESS;
}

// Unified addressing, as on every 64-bit platform: registered memory's device address is its
// host address.
namespace {

// Whether [p, p + n) lies in host memory the context registered: with unified addressing the
// GPU reaches it at that address, so memsets and device-to-device copies may name it, as the
// driver lets them (caller holds the context).
bool registered_host(const Context& ctx, CUdeviceptr p, std::size_t n) {
  auto next = ctx.host_registered.upper_bound(static_cast<std::uintptr_t>(p));
  if (next == ctx.host_registered.begin()) return false;
  const auto range = std::prev(next);
  return p - range->first < range->second && n <= range->second - (p - range->first);
}

// Device memory of any context, or host memory this context registered.
bool gpu_reachable(const RegionReader& held, const Context& ctx, CUdeviceptr p, std::size_t n) {
  return region_owner(held, p, n) != nullptr || registered_host(ctx, p, n);
}

}  // namespace

FAKE_CUDA_API CUresult CUDAAPI cuMemHostGetDevicePointer_v2(CUdeviceptr* out, void* p, unsigned int flags) {
  Locked l;
  if (CUresult r = enter(l); r != CUDA_SUCCESS) return r;
  if (out == nullptr || flags != 0) return CUDA_ERROR_INVALID_VALUE;
  const auto address = reinterpret_cast<std::uintptr_t>(p);
  auto& ranges = l->host_registered;
  auto next = ranges.upper_bound(address);
  if (next == ranges.begin()) return CUDA_ERROR_INVALID_VALUE;
  auto range = std::prev(next);
  if (address >= range->first + range->second) return CUDA_ERROR_INVALID_VALUE;
  *out = static_cast<CUdeviceptr>(address);
  return CUDA_SUCCESS;
}

FAKE_CUDA_API CUresult CUDAAPI cuMemHostUnregister(void* p) {
  Locked l;
  if (CUresult r = enter(l); r != CUDA_SUCCESS) return r;
  if (p == nullptr) return CUDA_ERROR_INVALID_VALUE;
  if (l->host_registered.erase(reinterpret_cast<std::uintptr_t>(p)) == 0) {
    return CUDA_ERROR_HOST_MEMORY_NOT_REGISTERED;
  }
  return CUDA_SUCCESS;
}

namespace {

// The last step of a validated copy (the caller holds the region index): run it, or record it
// into the stream's capture. Host pointers are recorded by address, as the driver does.
CUresult copy_or_record(Context& ctx, CUstream s, CopyNode copy) {
  std::shared_ptr<Capture> cap;
  if (CUresult r = capture_gate(ctx, s, cap); r != CUDA_SUCCESS) return r;
  if (cap) {
    capture_record(*cap, s, std::move(copy));
    return CUDA_SUCCESS;
  }
  std::memmove(reinterpret_cast<void*>(copy.dst), reinterpret_cast<const void*>(copy.src), copy.bytes);
  return CUDA_SUCCESS;
}

template <class T>
MemsetNode memset_node(CUdeviceptr dst, std::size_t pitch, T value, std::size_t width, std::size_t height) {
  static_assert(sizeof(T) <= sizeof(MemsetNode::value));
  MemsetNode m{dst, pitch, width, height, sizeof(T), {}};
  std::memcpy(m.value.data(), &value, sizeof value);
  return m;
}

// The same for a validated memset.
CUresult memset_or_record(Context& ctx, CUstream s, MemsetNode m) {
  std::shared_ptr<Capture> cap;
  if (CUresult r = capture_gate(ctx, s, cap); r != CUDA_SUCCESS) return r;
  if (cap) {
    capture_record(*cap, s, std::move(m));
    return CUDA_SUCCESS;
  }
  fill_rows(m);
  return CUDA_SUCCESS;
}

}  // namespace

void vgpu::fake::fill_rows(const MemsetNode& m) {
  for (std::size_t y = 0; y < m.height; ++y) {
    auto* row = reinterpret_cast<unsigned char*>(m.dst + y * m.pitch);
    if (m.elem == 1) {
      std::memset(row, m.value[0], m.width);
      continue;
    }
    for (std::size_t x = 0; x < m.width; ++x) std::memcpy(row + x * m.elem, m.value.data(), m.elem);
  }
}

// memmove row by row: a copy whose two sides overlap has no defined result on a GPU, but must
// not be undefined behaviour here.
void vgpu::fake::copy_rows(const CopyNode& c) {
  for (std::size_t z = 0; z < c.depth; ++z) {
    for (std::size_t y = 0; y < c.height; ++y) {
      const CUdeviceptr dst = c.dst + z * c.dst_slice + y * c.dst_pitch;
      const CUdeviceptr src = c.src + z * c.src_slice + y * c.src_pitch;
      std::memmove(reinterpret_cast<void*>(dst), reinterpret_cast<const void*>(src), c.bytes);
    }
  }
}

FAKE_CUDA_API CUresult CUDAAPI cuMemcpyHtoDAsync_v2(CUdeviceptr dstDevice, const void* srcHost, size_t ByteCount,
                                                    CUstream hStream) {
  Locked l;
  if (CUresult r = enter(l); r != CUDA_SUCCESS) return r;
  if (!stream_ok(*l.ctx, hStream)) return CUDA_ERROR_INVALID_HANDLE;
  if (ByteCount == 0) return CUDA_SUCCESS;
  const RegionReader held = read_regions();  // keeps the memory mapped until the copy is done
  if (srcHost == nullptr || !gpu_reachable(held, *l.ctx, dstDevice, ByteCount)) return CUDA_ERROR_INVALID_VALUE;
  const CopyNode copy{dstDevice, reinterpret_cast<CUdeviceptr>(srcHost), ByteCount, true, false};
  return copy_or_record(*l.ctx, hStream, copy);
}

FAKE_CUDA_API CUresult CUDAAPI cuMemcpyDtoHAsync_v2(void* dstHost, CUdeviceptr srcDevice, size_t ByteCount,
                                                    CUstream hStream) {
  Locked l;
  if (CUresult r = enter(l); r != CUDA_SUCCESS) return r;
  if (!stream_ok(*l.ctx, hStream)) return CUDA_ERROR_INVALID_HANDLE;
  if (ByteCount == 0) return CUDA_SUCCESS;
  const RegionReader held = read_regions();
  if (dstHost == nullptr || !gpu_reachable(held, *l.ctx, srcDevice, ByteCount)) return CUDA_ERROR_INVALID_VALUE;
  const CopyNode copy{reinterpret_cast<CUdeviceptr>(dstHost), srcDevice, ByteCount, false, true};
  return copy_or_record(*l.ctx, hStream, copy);
}

FAKE_CUDA_API CUresult CUDAAPI cuMemcpyDtoDAsync_v2(CUdeviceptr dstDevice, CUdeviceptr srcDevice, size_t ByteCount,
                                                    CUstream hStream) {
  Locked l;
  if (CUresult r = enter(l); r != CUDA_SUCCESS) return r;
  if (!stream_ok(*l.ctx, hStream)) return CUDA_ERROR_INVALID_HANDLE;
  if (ByteCount == 0) return CUDA_SUCCESS;
  const RegionReader held = read_regions();
  if (!gpu_reachable(held, *l.ctx, dstDevice, ByteCount) || !gpu_reachable(held, *l.ctx, srcDevice, ByteCount)) {
    return CUDA_ERROR_INVALID_VALUE;
  }
  return copy_or_record(*l.ctx, hStream, CopyNode{dstDevice, srcDevice, ByteCount, true, true});
}

FAKE_CUDA_API CUresult CUDAAPI cuMemsetD8Async(CUdeviceptr dstDevice, unsigned char uc, size_t N, CUstream hStream) {
  Locked l;
  if (CUresult r = enter(l); r != CUDA_SUCCESS) return r;
  if (!stream_ok(*l.ctx, hStream)) return CUDA_ERROR_INVALID_HANDLE;
  if (N == 0) return CUDA_SUCCESS;
  const RegionReader held = read_regions();
  if (!gpu_reachable(held, *l.ctx, dstDevice, N)) return CUDA_ERROR_INVALID_VALUE;
  return memset_or_record(*l.ctx, hStream, memset_node(dstDevice, 0, uc, N, 1));
}

CUresult vgpu::fake::memset_span(CUdeviceptr dst, std::size_t pitch, std::size_t elem, std::size_t width,
                                 std::size_t height, std::size_t& span) {
  if (dst % elem != 0 || (height > 1 && pitch % elem != 0)) return CUDA_ERROR_INVALID_VALUE;
  if (width > SIZE_MAX / elem) return CUDA_ERROR_INVALID_VALUE;
  const std::size_t row = width * elem;
  span = row;
  if (height > 1) {
    if (pitch < row || height - 1 > (SIZE_MAX - row) / pitch) return CUDA_ERROR_INVALID_VALUE;
    span = (height - 1) * pitch + row;
  }
  return CUDA_SUCCESS;
}

namespace {

// cuMemsetD2D{8,16,32}Async: `height` rows of `width` elements of sizeof(T), `pitch` bytes
// apart. As the driver says, dst and pitch must be aligned to the element; the whole span
// (first byte of the first row to the last byte of the last row) must lie in one region.
template <class T>
CUresult memset_2d(CUdeviceptr dst, size_t pitch, T value, size_t width, size_t height, CUstream hStream) {
  Locked l;
  if (CUresult r = enter(l); r != CUDA_SUCCESS) return r;
  if (!stream_ok(*l.ctx, hStream)) return CUDA_ERROR_INVALID_HANDLE;
  if (dst % sizeof(T) != 0 || pitch % sizeof(T) != 0) return CUDA_ERROR_INVALID_VALUE;
  if (width == 0 || height == 0) return CUDA_SUCCESS;
  std::size_t span = 0;
  if (CUresult r = memset_span(dst, pitch, sizeof(T), width, height, span); r != CUDA_SUCCESS) return r;
  const RegionReader held = read_regions();
  if (!gpu_reachable(held, *l.ctx, dst, span)) return CUDA_ERROR_INVALID_VALUE;
  return memset_or_record(*l.ctx, hStream, memset_node(dst, pitch, value, width, height));
}

}  // namespace

FAKE_CUDA_API CUresult CUDAAPI cuMemsetD2D8Async(CUdeviceptr dstDevice, size_t dstPitch, unsigned char uc, size_t Width,
                                                 size_t Height, CUstream hStream) {
  return memset_2d(dstDevice, dstPitch, uc, Width, Height, hStream);
}

FAKE_CUDA_API CUresult CUDAAPI cuMemsetD2D16Async(CUdeviceptr dstDevice, size_t dstPitch, unsigned short us,
                                                  size_t Width, size_t Height, CUstream hStream) {
  return memset_2d(dstDevice, dstPitch, us, Width, Height, hStream);
}

FAKE_CUDA_API CUresult CUDAAPI cuMemsetD2D32Async(CUdeviceptr dstDevice, size_t dstPitch, unsigned int ui,
                                                  size_t Width, size_t Height, CUstream hStream) {
  return memset_2d(dstDevice, dstPitch, ui, Width, Height, hStream);
}
