// What a channel made of CUDA arrays, mipmapped arrays, texture objects and surface objects
// (docs/design.md §23). Arrays and mipmapped arrays are held under ids of the channel's, as
// streams are; a mipmapped array's levels are arrays too, under ids of their own, that go with
// it. Texture and surface objects are the driver's own values, which the guest's kernels take as
// arguments: vgpud keeps the ones it made, so that a guest destroys only its own.
#pragma once
#include <cuda.h>

#include <cstdint>
#include <set>
#include <utility>
#include <vector>

#include "vgpu/protocol/limits.h"
#include "vgpud/executor/array_checks.h"
#include "vgpud/executor/handle_table.h"

namespace vgpud {

// The driver's texture or surface objects a channel made. Their values are the driver's, which
// may repeat across contexts, so each is kept with the guest device it was made on.
class DriverObjectTable {
 public:
  explicit DriverObjectTable(size_t capacity) : capacity_(capacity) {}
  bool full() const { return objects_.size() >= capacity_; }
  void insert(uint32_t device, uint64_t object) { objects_.insert({device, object}); }
  bool contains(uint32_t device, uint64_t object) const { return objects_.count({device, object}) != 0; }
  void erase(uint32_t device, uint64_t object) { objects_.erase({device, object}); }
  // The objects made on `device`, to destroy before its context goes.
  std::vector<uint64_t> on_device(uint32_t device) const {
    std::vector<uint64_t> out;
    for (auto it = objects_.lower_bound({device, 0}); it != objects_.end() && it->first == device; ++it)
      out.push_back(it->second);
    return out;
  }

 private:
  std::set<std::pair<uint32_t, uint64_t>> objects_;
  size_t capacity_;
};

class ArrayObjects {
 public:
  struct Array {
    CUarray handle = nullptr;
    uint32_t device = 0;
    CUDA_ARRAY3D_DESCRIPTOR desc{};  // as made (a level: as the driver describes it)
    uint32_t element = 0;            // bytes per element
    uint32_t mipmap = 0;  // the mipmapped array it is a level of; 0: one the channel made
    uint64_t bytes = 0;   // charged to device_memory (a level's are its mipmapped array's)
    // What copies see of it: a row's bytes, its rows and its slices.
    ArrayExtent extent() const { return array_extent(desc.Width, desc.Height, desc.Depth, element); }
  };
  struct Mipmap {
    CUmipmappedArray handle = nullptr;
    uint32_t device = 0;
    std::vector<uint32_t> levels;  // each level's array id once asked for, else 0
    uint64_t bytes = 0;
  };

  ArrayObjects()
      : arrays(1, vgpu::limits::kMaxArrays),
        mipmaps(1, vgpu::limits::kMaxMipmappedArrays),
        textures(vgpu::limits::kMaxTextureObjects),
        surfaces(vgpu::limits::kMaxSurfaceObjects) {}

  // Forgets mipmapped array `id` (already destroyed) and its levels' ids.
  void forget_mipmap(uint32_t id) {
    if (const Mipmap* m = mipmaps.find(id)) {
      for (uint32_t level : m->levels)
        if (level != 0) arrays.erase(level);
      mipmaps.erase(id);
    }
  }

  HandleTable<uint32_t, Array> arrays;
  HandleTable<uint32_t, Mipmap> mipmaps;
  DriverObjectTable textures;
  DriverObjectTable surfaces;
};

}  // namespace vgpud
