// The entry points that take a cudaLaunchConfig_t: cudaLaunchKernelExC and the cluster
// occupancy queries, plus the per-kernel queries that go with them (parameter layout, dynamic
// shared memory left at an occupancy) and the kernel's driver handles (cudaGetKernel,
// cudaGetFuncBySymbol). All go to the driver's matching calls with the kernel's
// CUkernel where a CUfunction goes, as launch.cpp's launches do.
#include <cstddef>

#include "guest/client/log.h"
#include "guest/cudart/entry.h"
#include "guest/cudart/registry.h"
#include "guest/cudart/streams.h"

namespace vgpu::cudart {
namespace {

// The runtime's launch attributes are the driver's, number for number and byte for byte, so
// the array is passed on as it is.
static_assert(sizeof(cudaLaunchAttribute) == sizeof(CUlaunchAttribute) &&
              offsetof(cudaLaunchAttribute, val) == offsetof(CUlaunchAttribute, value) &&
              sizeof(cudaLaunchAttributeValue) == sizeof(CUlaunchAttributeValue));
static_assert(static_cast<int>(cudaLaunchAttributeCooperative) == CU_LAUNCH_ATTRIBUTE_COOPERATIVE &&
              static_cast<int>(cudaLaunchAttributeClusterDimension) == CU_LAUNCH_ATTRIBUTE_CLUSTER_DIMENSION &&
              static_cast<int>(cudaLaunchAttributePriority) == CU_LAUNCH_ATTRIBUTE_PRIORITY);

// The driver's form of `config`; false if it cannot have one (a shared-memory size past 32 bits).
bool driver_config(const cudaLaunchConfig_t& config, bool per_thread_default, CUlaunchConfig* out) {
  if (config.dynamicSmemBytes > UINT32_MAX || (config.numAttrs > 0 && config.attrs == nullptr)) return false;
  *out = CUlaunchConfig{config.gridDim.x,
                        config.gridDim.y,
                        config.gridDim.z,
                        config.blockDim.x,
                        config.blockDim.y,
                        config.blockDim.z,
                        static_cast<unsigned>(config.dynamicSmemBytes),
                        driver_stream(config.stream, per_thread_default),
                        reinterpret_cast<CUlaunchAttribute*>(config.attrs),
                        config.numAttrs};
  return true;
}

cudaError_t launch_ex(const cudaLaunchConfig_t* config, const void* func, void** args, bool per_thread_default) {
  return context_call([&](Runtime&) {
    CUlaunchConfig c{};
    if (config == nullptr || !driver_config(*config, per_thread_default, &c)) return cudaErrorInvalidValue;
    CUfunction f = nullptr;
    if (cudaError_t e = kernel_function(func, &f); e != cudaSuccess) return e;
    return to_cuda_error(cuLaunchKernelEx(&c, f, args, nullptr));
  });
}

// A cluster occupancy query: `query(result, function, driver config)`.
template <typename Query>
cudaError_t cluster_query(int* result, const void* func, const cudaLaunchConfig_t* config, Query query) {
  return context_call([&](Runtime&) {
    CUlaunchConfig c{};
    if (result == nullptr || config == nullptr || !driver_config(*config, false, &c)) return cudaErrorInvalidValue;
    CUfunction f = nullptr;
    if (cudaError_t e = kernel_function(func, &f); e != cudaSuccess) return e;
    return to_cuda_error(query(result, f, &c));
  });
}

}  // namespace
}  // namespace vgpu::cudart

using namespace vgpu::cudart;
using vgpu::guest::trace_api;

VGPU_EXPORT cudaError_t cudaLaunchKernelExC(const cudaLaunchConfig_t* config, const void* func, void** args) {
  trace_api("cudaLaunchKernelExC func=%p", func);
  return launch_ex(config, func, args, false);
}

VGPU_EXPORT cudaError_t cudaLaunchKernelExC_ptsz(const cudaLaunchConfig_t* config, const void* func, void** args) {
  trace_api("cudaLaunchKernelExC_ptsz func=%p", func);
  return launch_ex(config, func, args, true);
}

VGPU_EXPORT cudaError_t cudaOccupancyMaxActiveClusters(int* numClusters, const void* func,
                                                       const cudaLaunchConfig_t* launchConfig) {
  trace_api("cudaOccupancyMaxActiveClusters func=%p", func);
  return cluster_query(numClusters, func, launchConfig, [](int* n, CUfunction f, const CUlaunchConfig* c) {
    return cuOccupancyMaxActiveClusters(n, f, c);
  });
}

VGPU_EXPORT cudaError_t cudaOccupancyMaxPotentialClusterSize(int* clusterSize, const void* func,
                                                             const cudaLaunchConfig_t* launchConfig) {
  trace_api("cudaOccupancyMaxPotentialClusterSize func=%p", func);
  return cluster_query(clusterSize, func, launchConfig, [](int* n, CUfunction f, const CUlaunchConfig* c) {
    return cuOccupancyMaxPotentialClusterSize(n, f, c);
  });
}

VGPU_EXPORT cudaError_t cudaOccupancyAvailableDynamicSMemPerBlock(size_t* dynamicSmemSize, const void* func,
                                                                  int numBlocks, int blockSize) {
  trace_api("cudaOccupancyAvailableDynamicSMemPerBlock func=%p blocks=%d block=%d", func, numBlocks, blockSize);
  return context_call([&](Runtime&) {
    if (dynamicSmemSize == nullptr) return cudaErrorInvalidValue;
    CUfunction f = nullptr;
    if (cudaError_t e = kernel_function(func, &f); e != cudaSuccess) return e;
    return to_cuda_error(cuOccupancyAvailableDynamicSMemPerBlock(dynamicSmemSize, f, numBlocks, blockSize));
  });
}

VGPU_EXPORT cudaError_t cudaFuncGetParamInfo(const void* func, size_t paramIndex, size_t* paramOffset,
                                             size_t* paramSize) {
  trace_api("cudaFuncGetParamInfo func=%p index=%zu", func, paramIndex);
  return context_call([&](Runtime&) {
    if (paramOffset == nullptr && paramSize == nullptr) return cudaErrorInvalidValue;
    CUfunction f = nullptr;
    if (cudaError_t e = kernel_function(func, &f); e != cudaSuccess) return e;
    return to_cuda_error(cuFuncGetParamInfo(f, paramIndex, paramOffset, paramSize));
  });
}

// A cudaKernel_t is the kernel's CUkernel, valid on every device.
VGPU_EXPORT cudaError_t cudaGetKernel(cudaKernel_t* kernelPtr, const void* entryFuncAddr) {
  trace_api("cudaGetKernel func=%p", entryFuncAddr);
  return local_call([&](Runtime&) {
    if (kernelPtr == nullptr) return cudaErrorInvalidValue;
    CUkernel kernel = nullptr;
    if (cudaError_t e = registry().kernel(entryFuncAddr, &kernel); e != cudaSuccess) return e;
    *kernelPtr = reinterpret_cast<cudaKernel_t>(kernel);
    return cudaSuccess;
  });
}

// A cudaFunction_t is the kernel's CUfunction in the thread's current context.
VGPU_EXPORT cudaError_t cudaGetFuncBySymbol(cudaFunction_t* functionPtr, const void* symbolPtr) {
  trace_api("cudaGetFuncBySymbol func=%p", symbolPtr);
  return context_call([&](Runtime&) {
    if (functionPtr == nullptr) return cudaErrorInvalidValue;
    CUkernel kernel = nullptr;
    if (cudaError_t e = registry().kernel(symbolPtr, &kernel); e != cudaSuccess) return e;
    return to_cuda_error(cuKernelGetFunction(reinterpret_cast<CUfunction*>(functionPtr), kernel));
  });
}
