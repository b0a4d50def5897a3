// TMA descriptors (cuTensorMapEncodeTiled): the driver writes them on the CPU in a format NVIDIA
// does not publish, so vgpud's driver encodes each one and the guest gets its 128 bytes. The
// address is not checked, as the driver does not: the descriptor is only a kernel parameter,
// which a guest could write itself, and it reaches only memory of the tenant's own context.
#include <cstring>

#include "vgpud/executor/channel_executor.h"
#include "vgpud/executor/reply_payload.h"

namespace vgpud {

int32_t ChannelExecutor::handle(const TensorMapEncodeTiledCmd& cmd, Reply& reply) {
  if (int32_t st = require_context()) return st;
  CUtensorMap map{};
  static_assert(sizeof map == sizeof(proto::TensorMapEncodeTiledReply::words));
  CUresult r = traced("cuTensorMapEncodeTiled",
                      cu_.cuTensorMapEncodeTiled(&map, static_cast<CUtensorMapDataType>(cmd.data_type), cmd.rank,
                                                 reinterpret_cast<void*>(cmd.global_address), cmd.global_dim,
                                                 cmd.global_strides, cmd.box_dim, cmd.element_strides,
                                                 static_cast<CUtensorMapInterleave>(cmd.interleave),
                                                 static_cast<CUtensorMapSwizzle>(cmd.swizzle),
                                                 static_cast<CUtensorMapL2promotion>(cmd.l2_promotion),
                                                 static_cast<CUtensorMapFloatOOBfill>(cmd.oob_fill)));
  if (r != CUDA_SUCCESS) return r;
  proto::TensorMapEncodeTiledReply out{};
  std::memcpy(out.words, &map, sizeof map);
  put(reply.payload, out);
  return 0;
}

}  // namespace vgpud
