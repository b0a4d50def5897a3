// fake-cuda (test double, never ships): the process-wide index of device regions. With unified
// addressing (as on every 64-bit CUDA system) a copy may name memory of any context of the
// process and a kernel memory of the peer contexts it has access to; the index finds a region's
// owner without taking that context's lock, and keeps the memory mapped while it is used.
#include "internal.h"

namespace vgpu::fake {
namespace {

struct IndexEntry {
  std::size_t size = 0;
  CUcontext owner = nullptr;
  bool mapping = false;  // cuMemMap's (vmm.cpp): adjacent mappings are one stretch of memory
};

// Shared by copies and kernels for as long as they touch the memory, exclusive to add or drop a
// region. Taken while holding a Context::mu, never the other way round: a thread holding it
// waits for nothing but itself and graph.cpp's registry mutex (whose holders wait for nothing),
// so no lock cycle can form through it.
std::shared_mutex g_index_mu;
std::map<CUdeviceptr, IndexEntry> g_index;

}  // namespace

void add_region(Context& ctx, CUdeviceptr base, const Region& region) {
  ctx.regions[base] = region;
  std::unique_lock<std::shared_mutex> g(g_index_mu);
  g_index[base] = IndexEntry{region.size, ctx.handle, region.mapping};
}

void drop_region(Context& ctx, CUdeviceptr base) {
  {
    // Waits for readers: a copy or kernel of another context may be using this memory now.
    std::unique_lock<std::shared_mutex> g(g_index_mu);
    g_index.erase(base);
  }
  ctx.regions.erase(base);
  // Unmapped only once out of the index, so no later reader can find it either.
  device_free(reinterpret_cast<void*>(base));
}

RegionReader read_regions() { return RegionReader(g_index_mu); }

CUcontext region_owner(const RegionReader& held, CUdeviceptr p, std::size_t n) {
  (void)held;  // only proves that the caller holds the index
  auto it = g_index.upper_bound(p);
  if (it == g_index.begin()) return nullptr;
  --it;
  const std::uint64_t off = p - it->first;
  if (off >= it->second.size) return nullptr;
  if (n <= it->second.size - off) return it->second.owner;
  // A span may run on through mappings that follow one another, as on a GPU.
  if (!it->second.mapping || p + n < p) return nullptr;
  std::uint64_t end = it->first + it->second.size;
  for (auto next = std::next(it); end < p + n; ++next) {
    if (next == g_index.end() || next->first != end || !next->second.mapping) return nullptr;
    end += next->second.size;
  }
  return it->second.owner;
}

}  // namespace vgpu::fake
