// CUDA arrays and mipmapped arrays as the guest holds them (docs/design.md §23): vgpud holds the
// driver's under ids of the channel's; a CUarray or CUmipmappedArray points at a tagged guest
// object with that id and the descriptor it was made with, so descriptors are answered here and
// copies are checked against the array's extent before anything is sent. A cudaArray_t is a
// CUarray, so the runtime shim hands out the same handles.
#pragma once
#include <cuda.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "guest/cuda/handles.h"

namespace vgpu::cuda {

struct ArrayObject {
  HandleKind kind = HandleKind::Array;
  uint32_t wire = 0;  // vgpud's id
  uint32_t device = 0;
  CUDA_ARRAY3D_DESCRIPTOR desc{};
  uint32_t element = 0;  // bytes per element
  struct MipmappedArrayObject* mipmap = nullptr;  // a level of it: it goes with its mipmapped array
};

struct MipmappedArrayObject {
  HandleKind kind = HandleKind::MipmappedArray;
  uint32_t wire = 0;
  uint32_t device = 0;
  CUDA_ARRAY3D_DESCRIPTOR desc{};  // level 0's
  uint32_t element = 0;
  std::mutex mutex;
  std::vector<std::unique_ptr<ArrayObject>> levels;  // each made on first ask; die with it
  ~MipmappedArrayObject() {
    for (auto& level : levels)
      if (level) level->kind = HandleKind::Dead;
  }
};

inline ArrayObject* array_of(CUarray a) noexcept { return object_of<ArrayObject>(a, HandleKind::Array); }
inline MipmappedArrayObject* mipmap_of(CUmipmappedArray m) noexcept {
  return object_of<MipmappedArrayObject>(m, HandleKind::MipmappedArray);
}

// Bytes of one element; 0 for a format vgpu does not offer (only the plain integer, half and
// float formats) or a channel count the driver refuses (1, 2 or 4 it takes).
uint32_t element_bytes(CUarray_format format, unsigned channels) noexcept;

// An array's extent as copies see it: a row's bytes, its rows, its slices (layers included).
struct ArrayExtent {
  size_t row_bytes, rows, slices;
};
ArrayExtent extent_of(const ArrayObject& a) noexcept;

}  // namespace vgpu::cuda
