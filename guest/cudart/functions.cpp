// Per-kernel queries and settings: cudaFuncGetAttributes, cudaFuncSetAttribute, occupancy,
// the cache-configuration hint and the kernel's name.
#include <cstring>
#include <span>

#include "guest/client/log.h"
#include "guest/cudart/entry.h"
#include "guest/cudart/func_attributes.h"
#include "guest/cudart/registry.h"
#include "guest/cudart/status_map.h"

namespace vgpu::cudart {
namespace {

// cudaFuncAttributes from FuncGetAttributes values, indexed by CUfunction_attribute.
void fill_func_attributes(const proto::FuncGetAttributesReply& reply, cudaFuncAttributes* out) {
  std::memset(out, 0, sizeof *out);
  uint32_t count = reply.count < limits::kMaxFunctionAttributes ? reply.count : limits::kMaxFunctionAttributes;
  auto v = [&](CUfunction_attribute a) { return static_cast<uint32_t>(a) < count ? reply.values[a] : 0; };
  auto bytes = [&](CUfunction_attribute a) { return static_cast<size_t>(static_cast<unsigned>(v(a))); };
  out->sharedSizeBytes = bytes(CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES);
  out->constSizeBytes = bytes(CU_FUNC_ATTRIBUTE_CONST_SIZE_BYTES);
  out->localSizeBytes = bytes(CU_FUNC_ATTRIBUTE_LOCAL_SIZE_BYTES);
  out->maxThreadsPerBlock = v(CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK);
  out->numRegs = v(CU_FUNC_ATTRIBUTE_NUM_REGS);
  out->ptxVersion = v(CU_FUNC_ATTRIBUTE_PTX_VERSION);
  out->binaryVersion = v(CU_FUNC_ATTRIBUTE_BINARY_VERSION);
  out->cacheModeCA = v(CU_FUNC_ATTRIBUTE_CACHE_MODE_CA);
  out->maxDynamicSharedSizeBytes = v(CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES);
  out->preferredShmemCarveout = v(CU_FUNC_ATTRIBUTE_PREFERRED_SHARED_MEMORY_CARVEOUT);
  out->clusterDimMustBeSet = v(CU_FUNC_ATTRIBUTE_CLUSTER_SIZE_MUST_BE_SET);
  out->requiredClusterWidth = v(CU_FUNC_ATTRIBUTE_REQUIRED_CLUSTER_WIDTH);
  out->requiredClusterHeight = v(CU_FUNC_ATTRIBUTE_REQUIRED_CLUSTER_HEIGHT);
  out->requiredClusterDepth = v(CU_FUNC_ATTRIBUTE_REQUIRED_CLUSTER_DEPTH);
  out->clusterSchedulingPolicyPreference = v(CU_FUNC_ATTRIBUTE_CLUSTER_SCHEDULING_POLICY_PREFERENCE);
  out->nonPortableClusterSizeAllowed = v(CU_FUNC_ATTRIBUTE_NON_PORTABLE_CLUSTER_SIZE_ALLOWED);
}

cudaError_t occupancy(int* blocks, const void* func, int block_size, size_t dynamic_smem, unsigned flags) {
  return remote_call([&](Runtime& rt) {
    if (blocks == nullptr || block_size <= 0) return cudaErrorInvalidValue;
    const KernelInfo* kernel = nullptr;
    if (cudaError_t e = registry().kernel(*rt.channel, func, &kernel); e != cudaSuccess) return e;
    proto::OccupancyMaxBlocksRequest request{kernel->function, block_size, dynamic_smem, flags, 0};
    proto::OccupancyMaxBlocksReply reply{};
    guest::CallResult r = rt.channel->call(proto::CallId::OccupancyMaxBlocks, {{&request, sizeof request}},
                                           std::span(reinterpret_cast<uint8_t*>(&reply), sizeof reply));
    if (r.status != 0) return to_cuda_error(r.status);
    if (r.payload_size < sizeof reply) return cudaErrorUnknown;
    *blocks = reply.blocks;
    return cudaSuccess;
  });
}

}  // namespace
}  // namespace vgpu::cudart

using namespace vgpu::cudart;
using vgpu::guest::trace_api;
using vgpu::proto::CallId;

VGPU_EXPORT cudaError_t cudaFuncGetAttributes(cudaFuncAttributes* attr, const void* func) {
  trace_api("cudaFuncGetAttributes func=%p", func);
  return remote_call([&](Runtime& rt) {
    if (attr == nullptr) return cudaErrorInvalidValue;
    const KernelInfo* kernel = nullptr;
    if (cudaError_t e = registry().kernel(*rt.channel, func, &kernel); e != cudaSuccess) return e;
    vgpu::proto::FuncGetAttributesReply reply{};
    if (cudaError_t e = fetch_func_attributes(*rt.channel, *kernel, &reply); e != cudaSuccess) return e;
    fill_func_attributes(reply, attr);
    return cudaSuccess;
  });
}

VGPU_EXPORT cudaError_t cudaFuncSetAttribute(const void* func, cudaFuncAttribute attr, int value) {
  trace_api("cudaFuncSetAttribute func=%p attr=%d value=%d", func, static_cast<int>(attr), value);
  return remote_call([&](Runtime& rt) {
    CUfunction_attribute driver_attr;
    switch (attr) {
      case cudaFuncAttributeMaxDynamicSharedMemorySize:
        driver_attr = CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES;
        break;
      case cudaFuncAttributePreferredSharedMemoryCarveout:
        driver_attr = CU_FUNC_ATTRIBUTE_PREFERRED_SHARED_MEMORY_CARVEOUT;
        break;
      default:
        return cudaErrorNotSupported;  // cluster attributes: vgpu launches no clusters
    }
    const KernelInfo* kernel = nullptr;
    if (cudaError_t e = registry().kernel(*rt.channel, func, &kernel); e != cudaSuccess) return e;
    vgpu::proto::FuncSetAttributeRequest request{kernel->function, driver_attr, value, 0};
    const int32_t status = rt.channel->call(CallId::FuncSetAttribute, {{&request, sizeof request}}, {}).status;
    if (status != 0) return to_cuda_error(status);
    // The launch path checks dynamic shared memory against this value from now on.
    if (driver_attr == CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES) kernel->max_dynamic_shared.set(value);
    return cudaSuccess;
  });
}

VGPU_EXPORT cudaError_t cudaOccupancyMaxActiveBlocksPerMultiprocessor(int* numBlocks, const void* func,
                                                                      int blockSize, size_t dynamicSMemSize) {
  trace_api("cudaOccupancyMaxActiveBlocksPerMultiprocessor func=%p block=%d smem=%zu", func, blockSize,
            dynamicSMemSize);
  return occupancy(numBlocks, func, blockSize, dynamicSMemSize, cudaOccupancyDefault);
}

VGPU_EXPORT cudaError_t cudaOccupancyMaxActiveBlocksPerMultiprocessorWithFlags(int* numBlocks, const void* func,
                                                                               int blockSize, size_t dynamicSMemSize,
                                                                               unsigned int flags) {
  trace_api("cudaOccupancyMaxActiveBlocksPerMultiprocessorWithFlags func=%p block=%d smem=%zu flags=%u", func,
            blockSize, dynamicSMemSize, flags);
  return occupancy(numBlocks, func, blockSize, dynamicSMemSize, flags);
}

// A preference the driver may ignore; accepting it without effect is within its contract.
VGPU_EXPORT cudaError_t cudaFuncSetCacheConfig(const void* func, cudaFuncCache cacheConfig) {
  trace_api("cudaFuncSetCacheConfig func=%p config=%d", func, static_cast<int>(cacheConfig));
  return offline_call([&] {
    return registry().knows_function(func) ? cudaSuccess : cudaErrorInvalidDeviceFunction;
  });
}

VGPU_EXPORT cudaError_t cudaFuncGetName(const char** name, const void* func) {
  trace_api("cudaFuncGetName func=%p", func);
  return offline_call([&] {
    if (name == nullptr) return cudaErrorInvalidValue;
    const char* found = registry().function_name(func);
    if (found == nullptr) return cudaErrorInvalidDeviceFunction;
    *name = found;
    return cudaSuccess;
  });
}
