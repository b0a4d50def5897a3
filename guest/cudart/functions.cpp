// Per-kernel queries and settings: cudaFuncGetAttributes, cudaFuncSetAttribute, occupancy,
// the cache-configuration hint and the kernel's name.
#include <cstring>

#include "guest/client/log.h"
#include "guest/cudart/entry.h"
#include "guest/cudart/registry.h"

namespace vgpu::cudart {
namespace {

// cudaFuncAttributes from the driver's CUfunction attributes.
cudaError_t fill_func_attributes(CUfunction f, cudaFuncAttributes* out) {
  std::memset(out, 0, sizeof *out);
  CUresult failed = CUDA_SUCCESS;
  auto v = [&](CUfunction_attribute a) {
    int value = 0;
    if (CUresult r = cuFuncGetAttribute(&value, a, f); r != CUDA_SUCCESS && failed == CUDA_SUCCESS) failed = r;
    return value;
  };
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
  return to_cuda_error(failed);
}

cudaError_t occupancy(int* blocks, const void* func, int block_size, size_t dynamic_smem, unsigned flags) {
  return context_call([&](Runtime&) {
    if (blocks == nullptr || block_size <= 0) return cudaErrorInvalidValue;
    CUfunction f = nullptr;
    if (cudaError_t e = kernel_function(func, &f); e != cudaSuccess) return e;
    return to_cuda_error(cuOccupancyMaxActiveBlocksPerMultiprocessorWithFlags(blocks, f, block_size, dynamic_smem, flags));
  });
}

}  // namespace
}  // namespace vgpu::cudart

using namespace vgpu::cudart;
using vgpu::guest::trace_api;

VGPU_EXPORT cudaError_t cudaFuncGetAttributes(cudaFuncAttributes* attr, const void* func) {
  trace_api("cudaFuncGetAttributes func=%p", func);
  return context_call([&](Runtime&) {
    if (attr == nullptr) return cudaErrorInvalidValue;
    CUfunction f = nullptr;
    if (cudaError_t e = kernel_function(func, &f); e != cudaSuccess) return e;
    return fill_func_attributes(f, attr);
  });
}

VGPU_EXPORT cudaError_t cudaFuncSetAttribute(const void* func, cudaFuncAttribute attr, int value) {
  trace_api("cudaFuncSetAttribute func=%p attr=%d value=%d", func, static_cast<int>(attr), value);
  return context_call([&](Runtime&) {
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
    CUfunction f = nullptr;
    if (cudaError_t e = kernel_function(func, &f); e != cudaSuccess) return e;
    // The driver's launch check uses this value from now on.
    return to_cuda_error(cuFuncSetAttribute(f, driver_attr, value));
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
