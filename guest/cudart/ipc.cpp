// cudaIpc* entry points, over the driver's (guest/cuda/ipc_api.cpp): sharing memory and events
// with another process of the same tenant (docs/design.md §25). cudaIpcMemHandle_t and
// cudaIpcEventHandle_t are the driver's 64 bytes, as in NVIDIA's runtime.
#include <cstring>

#include "guest/client/log.h"
#include "guest/cudart/entry.h"

namespace vgpu::cudart {
namespace {

static_assert(sizeof(cudaIpcMemHandle_t) == sizeof(CUipcMemHandle));
static_assert(sizeof(cudaIpcEventHandle_t) == sizeof(CUipcEventHandle));
static_assert(cudaIpcMemLazyEnablePeerAccess == CU_IPC_MEM_LAZY_ENABLE_PEER_ACCESS);

template <typename To, typename From>
To same_bytes(const From& from) {
  static_assert(sizeof(To) == sizeof(From));
  To to;
  std::memcpy(&to, &from, sizeof to);
  return to;
}

}  // namespace
}  // namespace vgpu::cudart

using namespace vgpu::cudart;
using vgpu::guest::trace_api;

VGPU_EXPORT cudaError_t cudaIpcGetMemHandle(cudaIpcMemHandle_t* handle, void* devPtr) {
  trace_api("cudaIpcGetMemHandle ptr=%p", devPtr);
  return context_call([&](Runtime&) {
    if (handle == nullptr) return cudaErrorInvalidValue;
    CUipcMemHandle h{};
    const cudaError_t e = to_cuda_error(cuIpcGetMemHandle(&h, reinterpret_cast<CUdeviceptr>(devPtr)));
    if (e == cudaSuccess) *handle = same_bytes<cudaIpcMemHandle_t>(h);
    return e;
  });
}

VGPU_EXPORT cudaError_t cudaIpcOpenMemHandle(void** devPtr, cudaIpcMemHandle_t handle, unsigned int flags) {
  trace_api("cudaIpcOpenMemHandle flags=%u", flags);
  return context_call([&](Runtime&) {
    if (devPtr == nullptr) return cudaErrorInvalidValue;
    CUdeviceptr ptr = 0;
    const cudaError_t e = to_cuda_error(cuIpcOpenMemHandle_v2(&ptr, same_bytes<CUipcMemHandle>(handle), flags));
    if (e == cudaSuccess) *devPtr = reinterpret_cast<void*>(ptr);
    return e;
  });
}

VGPU_EXPORT cudaError_t cudaIpcCloseMemHandle(void* devPtr) {
  trace_api("cudaIpcCloseMemHandle ptr=%p", devPtr);
  return context_call(
      [&](Runtime&) { return to_cuda_error(cuIpcCloseMemHandle(reinterpret_cast<CUdeviceptr>(devPtr))); });
}

VGPU_EXPORT cudaError_t cudaIpcGetEventHandle(cudaIpcEventHandle_t* handle, cudaEvent_t event) {
  trace_api("cudaIpcGetEventHandle event=%p", static_cast<void*>(event));
  return context_call([&](Runtime&) {
    if (handle == nullptr) return cudaErrorInvalidValue;
    if (event == nullptr) return cudaErrorInvalidResourceHandle;
    CUipcEventHandle h{};
    const cudaError_t e = to_cuda_error(cuIpcGetEventHandle(&h, event));
    if (e == cudaSuccess) *handle = same_bytes<cudaIpcEventHandle_t>(h);
    return e;
  });
}

VGPU_EXPORT cudaError_t cudaIpcOpenEventHandle(cudaEvent_t* event, cudaIpcEventHandle_t handle) {
  trace_api("cudaIpcOpenEventHandle");
  return context_call([&](Runtime&) {
    if (event == nullptr) return cudaErrorInvalidValue;
    CUevent e = nullptr;
    const cudaError_t r = to_cuda_error(cuIpcOpenEventHandle(&e, same_bytes<CUipcEventHandle>(handle)));
    if (r == cudaSuccess) *event = e;
    return r;
  });
}
