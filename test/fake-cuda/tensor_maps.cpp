// fake-cuda (test double, never ships): cuTensorMapEncodeTiled. The real encoding is NVIDIA's
// and unpublished; the fake checks what the driver documents (rank 1..5, a 16-byte aligned
// address, dimensions and boxes in range) and writes a readable encoding of what it was asked,
// so that a test can see the arguments arrived: word 0 the address, words 1..5 the dimensions,
// word 6 data type | rank << 8 | swizzle << 16, word 7 the first box dimension.
#include "internal.h"

using namespace vgpu::fake;

FAKE_CUDA_API CUresult CUDAAPI cuTensorMapEncodeTiled(CUtensorMap* map, CUtensorMapDataType type, cuuint32_t rank,
                                                      void* address, const cuuint64_t* dims, const cuuint64_t* strides,
                                                      const cuuint32_t* box, const cuuint32_t* element_strides,
                                                      CUtensorMapInterleave, CUtensorMapSwizzle swizzle,
                                                      CUtensorMapL2promotion, CUtensorMapFloatOOBfill) {
  if (!initialized()) return CUDA_ERROR_NOT_INITIALIZED;
  if (map == nullptr || rank < 1 || rank > 5 || address == nullptr || dims == nullptr || box == nullptr ||
      element_strides == nullptr || (rank > 1 && strides == nullptr) ||
      reinterpret_cast<uintptr_t>(address) % 16 != 0)
    return CUDA_ERROR_INVALID_VALUE;
  for (cuuint32_t i = 0; i < rank; ++i)
    if (dims[i] == 0 || box[i] == 0 || box[i] > 256 || element_strides[i] == 0 || element_strides[i] > 8)
      return CUDA_ERROR_INVALID_VALUE;
  cuuint64_t words[16] = {};
  words[0] = reinterpret_cast<uintptr_t>(address);
  for (cuuint32_t i = 0; i < rank; ++i) words[1 + i] = dims[i];
  words[6] = static_cast<cuuint64_t>(type) | static_cast<cuuint64_t>(rank) << 8 | static_cast<cuuint64_t>(swizzle) << 16;
  words[7] = box[0];
  static_assert(sizeof words == sizeof *map);
  std::memcpy(map, words, sizeof words);
  return CUDA_SUCCESS;
}
