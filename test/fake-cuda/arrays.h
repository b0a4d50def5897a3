// fake-cuda (test double, never ships): CUDA arrays, mipmapped arrays, texture and surface
// objects, as arrays.cpp and textures.cpp share them. An array's elements are plain host memory,
// row after row and slice after slice, with no tiling: only what a copy reads and writes is
// modelled. Every object belongs to the context current when it was made and goes with it.
//
// Lock order: the registry's mutex is taken last (after a Context::mu and the region index), and
// nothing is acquired while holding it but the device memory budget's.
#pragma once
#include "internal.h"

namespace vgpu::fake {

struct Array {
  CUcontext ctx = nullptr;
  CUDA_ARRAY3D_DESCRIPTOR desc{};
  std::size_t element = 0;    // bytes per element
  std::size_t row_bytes = 0;  // width × element
  std::size_t rows = 1, slices = 1;
  CUmipmappedArray parent = nullptr;  // a mipmapped array's level: destroyed with it only
  std::vector<unsigned char> bytes;   // empty for one made for deferred mapping
  std::size_t charged = 0;            // device memory it holds
};

struct Mipmap {
  CUcontext ctx = nullptr;
  CUDA_ARRAY3D_DESCRIPTOR desc{};
  std::vector<CUarray> levels;
  std::size_t charged = 0;
};

// A texture or surface object: what it was made from.
struct TextureObject {
  CUcontext ctx = nullptr;
  bool surface = false;
  CUDA_RESOURCE_DESC resource{};
  CUDA_TEXTURE_DESC texture{};
  bool has_view = false;  // cuTexObjectGetResourceViewDesc refuses one made without a view
  CUDA_RESOURCE_VIEW_DESC view{};
};

struct ArrayRegistry {
  std::mutex mu;
  std::unordered_map<CUarray, Array> arrays;
  std::unordered_map<CUmipmappedArray, Mipmap> mipmaps;
  std::unordered_map<std::uint64_t, TextureObject> objects;  // textures and surfaces
};
ArrayRegistry& array_registry();

// Bytes of one element, or 0 for a format or channel count the fake does not model.
std::size_t array_element_bytes(CUarray_format format, unsigned channels);

}  // namespace vgpu::fake
