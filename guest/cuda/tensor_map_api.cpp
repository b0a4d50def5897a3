// cuTensorMapEncodeTiled: vgpud's driver encodes the TMA descriptor (TENSOR_MAP_ENCODE_TILED;
// its format is NVIDIA's and unpublished) and the program gets the 128 bytes to pass to a
// kernel. The arrays are read here, once, up to the rank; the driver checks the values.
#include <cuda.h>

#include <cstring>

#include "guest/client/typed_call.h"
#include "guest/cuda/api.h"

using namespace vgpu;
using namespace vgpu::cuda;

VGPU_DRIVER_API CUresult cuTensorMapEncodeTiled(CUtensorMap* map, CUtensorMapDataType type, cuuint32_t rank,
                                                void* address, const cuuint64_t* dims, const cuuint64_t* strides,
                                                const cuuint32_t* box, const cuuint32_t* element_strides,
                                                CUtensorMapInterleave interleave, CUtensorMapSwizzle swizzle,
                                                CUtensorMapL2promotion l2_promotion, CUtensorMapFloatOOBfill oob_fill) {
  if (map == nullptr || rank < 1 || rank > 5 || dims == nullptr || box == nullptr || element_strides == nullptr ||
      (rank > 1 && strides == nullptr))
    return CUDA_ERROR_INVALID_VALUE;
  proto::TensorMapEncodeTiledRequest request{};
  request.data_type = static_cast<uint32_t>(type);
  request.rank = rank;
  request.global_address = reinterpret_cast<uintptr_t>(address);
  std::memcpy(request.global_dim, dims, rank * sizeof *dims);
  if (rank > 1) std::memcpy(request.global_strides, strides, (rank - 1) * sizeof *strides);
  std::memcpy(request.box_dim, box, rank * sizeof *box);
  std::memcpy(request.element_strides, element_strides, rank * sizeof *element_strides);
  request.interleave = static_cast<uint32_t>(interleave);
  request.swizzle = static_cast<uint32_t>(swizzle);
  request.l2_promotion = static_cast<uint32_t>(l2_promotion);
  request.oob_fill = static_cast<uint32_t>(oob_fill);
  return guarded([&] {
    guest::Channel* ch = nullptr;
    if (CUresult r = enter_context(&ch, nullptr); r != CUDA_SUCCESS) return r;
    proto::TensorMapEncodeTiledReply reply{};
    const guest::CallResult res = guest::call<proto::CallId::TensorMapEncodeTiled>(*ch, request, &reply);
    if (res.status != 0) return to_cu_result(res.status);
    static_assert(sizeof reply.words == sizeof *map);
    std::memcpy(map, reply.words, sizeof *map);
    return CUDA_SUCCESS;
  });
}
