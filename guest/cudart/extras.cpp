// Calls with nothing to remote: pure functions and hints CUDA allows a driver to ignore.
#include "guest/client/log.h"
#include "guest/cudart/entry.h"

using namespace vgpu::cudart;
using vgpu::guest::trace_api;

// Returns a struct: a generic "not supported" stub would leave the caller's return slot unset.
VGPU_EXPORT cudaChannelFormatDesc cudaCreateChannelDesc(int x, int y, int z, int w, cudaChannelFormatKind f) {
  return cudaChannelFormatDesc{x, y, z, w, f};
}

// Profiling runs on the host, where vgpud's tools see every tenant; ranges are accepted.
VGPU_EXPORT cudaError_t cudaProfilerStart() {
  trace_api("cudaProfilerStart");
  return offline_call([] { return cudaSuccess; });
}

VGPU_EXPORT cudaError_t cudaProfilerStop() {
  trace_api("cudaProfilerStop");
  return offline_call([] { return cudaSuccess; });
}

// The L1/shared split is a preference the driver may ignore.
VGPU_EXPORT cudaError_t cudaDeviceSetCacheConfig(cudaFuncCache cacheConfig) {
  trace_api("cudaDeviceSetCacheConfig config=%d", static_cast<int>(cacheConfig));
  return local_call([&](Runtime&) {
    return cacheConfig >= cudaFuncCachePreferNone && cacheConfig <= cudaFuncCachePreferEqual ? cudaSuccess
                                                                                              : cudaErrorInvalidValue;
  });
}

VGPU_EXPORT cudaError_t cudaDeviceGetCacheConfig(cudaFuncCache* pCacheConfig) {
  trace_api("cudaDeviceGetCacheConfig");
  return local_call([&](Runtime&) {
    if (pCacheConfig == nullptr) return cudaErrorInvalidValue;
    *pCacheConfig = cudaFuncCachePreferNone;
    return cudaSuccess;
  });
}
