#include "guest/cudart/func_attributes.h"

#include <cstddef>
#include <span>

#include "guest/cudart/launch_check.h"
#include "guest/cudart/status_map.h"
#include "vgpu/protocol/limits.h"

namespace vgpu::cudart {

cudaError_t fetch_func_attributes(guest::Channel& channel, const KernelInfo& kernel,
                                  proto::FuncGetAttributesReply* out) {
  *out = proto::FuncGetAttributesReply{};
  proto::FunctionRequest request{kernel.function, 0};
  guest::CallResult r = channel.call(proto::CallId::FuncGetAttributes, {{&request, sizeof request}},
                                     std::span(reinterpret_cast<uint8_t*>(out), sizeof *out));
  if (r.status != 0) return to_cuda_error(r.status);
  constexpr size_t kHead = offsetof(proto::FuncGetAttributesReply, values);
  if (r.payload_size < kHead) return cudaErrorUnknown;
  // Only values that arrived count.
  const uint32_t arrived = (r.payload_size - kHead) / sizeof(int32_t);
  if (out->count > arrived) out->count = arrived;
  if (out->count > limits::kMaxFunctionAttributes) out->count = limits::kMaxFunctionAttributes;
  kernel.max_dynamic_shared.learn(shared_limit_from(*out));
  return cudaSuccess;
}

cudaError_t dynamic_shared_limit(guest::Channel& channel, const KernelInfo& kernel, int64_t* limit) {
  if (int64_t known = kernel.max_dynamic_shared.get(); known != SharedLimitCache::kUnknown) {
    *limit = known;
    return cudaSuccess;
  }
  proto::FuncGetAttributesReply reply{};
  if (cudaError_t e = fetch_func_attributes(channel, kernel, &reply); e != cudaSuccess) return e;
  // The cache, not the reply: a cudaFuncSetAttribute on another thread may have won the race.
  *limit = kernel.max_dynamic_shared.get();
  return cudaSuccess;
}

}  // namespace vgpu::cudart
