// Allocation entry points: device memory (cudaMalloc/cudaFree), page-locked host memory from
// the shared heap (cudaMallocHost/cudaHostAlloc/cudaFreeHost), and what a pointer is
// (cudaPointerGetAttributes).
#include <cstring>
#include <span>
#include <vector>

#include "guest/client/log.h"
#include "guest/client/address_reservation.h"
#include "guest/cudart/entry.h"
#include "guest/cudart/pointer_class.h"
#include "guest/cudart/status_map.h"

namespace vgpu::cudart {
namespace {

cudaError_t host_alloc(void** ptr, size_t size, unsigned flags) {
  constexpr unsigned kKnownFlags = cudaHostAllocPortable | cudaHostAllocMapped | cudaHostAllocWriteCombined;
  return local_call([&](Runtime& rt) {
    if (ptr == nullptr || (flags & ~kKnownFlags) != 0) return cudaErrorInvalidValue;
    // The heap is visible to every device, so Portable holds; Mapped memory gets no device
    // pointer (cudaHostGetDevicePointer is unsupported), and write-combining is a hint.
    void* p = rt.host_heap ? rt.host_heap->allocate(size) : nullptr;
    if (p == nullptr) return cudaErrorMemoryAllocation;
    *ptr = p;
    return cudaSuccess;
  });
}

int32_t free_remote(Runtime& rt, uint64_t address) {
  vgpu::proto::MemFreeRequest request{address};
  return rt.channel->call(vgpu::proto::CallId::MemFree, {{&request, sizeof request}}, {}).status;
}

// cudaMalloc's remote part: an allocation whose range this process already uses for host
// memory is kept aside (so the driver cannot return it again), another one is asked for, and
// the ones kept aside are freed at the end. See address_reservation.h. vgpud places device
// memory away from where Linux maps a process's memory, so this is rare; when every attempt
// overlaps, the last allocation is used unreserved (as before this check existed) and only
// cudaMemcpyDefault on that range can be misread.
cudaError_t allocate_outside_guest_memory(Runtime& rt, size_t size, uint64_t* out) {
  constexpr int kAttempts = 4;
  std::vector<uint64_t> overlapping;
  cudaError_t result = cudaErrorMemoryAllocation;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    vgpu::proto::MemAllocRequest request{size};
    vgpu::proto::MemAllocReply reply{};
    vgpu::guest::CallResult r = rt.channel->call(vgpu::proto::CallId::MemAlloc, {{&request, sizeof request}},
                                                 std::span(reinterpret_cast<uint8_t*>(&reply), sizeof reply));
    if (r.status != 0) {
      result = to_cuda_error(r.status);
      break;
    }
    if (r.payload_size < sizeof reply || reply.device_ptr == 0) {
      result = cudaErrorUnknown;
      break;
    }
    if (vgpu::guest::reserve_device_range(reply.device_ptr, size)) {
      *out = reply.device_ptr;
      result = cudaSuccess;
      break;
    }
    vgpu::guest::log(vgpu::guest::LogLevel::Debug,
                     "device range 0x%llx+%zu overlaps this process's memory; allocating again",
                     static_cast<unsigned long long>(reply.device_ptr), size);
    if (attempt + 1 == kAttempts) {
      vgpu::guest::log(vgpu::guest::LogLevel::Warn,
                       "device range 0x%llx+%zu overlaps this process's memory; cudaMemcpyDefault "
                       "cannot tell them apart", static_cast<unsigned long long>(reply.device_ptr), size);
      *out = reply.device_ptr;
      result = cudaSuccess;
      break;
    }
    overlapping.push_back(reply.device_ptr);
  }
  for (uint64_t address : overlapping) (void)free_remote(rt, address);
  return result;
}

}  // namespace
}  // namespace vgpu::cudart

using namespace vgpu::cudart;
using vgpu::guest::trace_api;
using vgpu::proto::CallId;

VGPU_EXPORT cudaError_t cudaMalloc(void** devPtr, size_t size) {
  trace_api("cudaMalloc size=%zu", size);
  return remote_call([&](Runtime& rt) {
    if (devPtr == nullptr) return cudaErrorInvalidValue;
    if (size == 0) {  // CUDA: success, and a null pointer
      *devPtr = nullptr;
      return cudaSuccess;
    }
    uint64_t address = 0;
    const cudaError_t e = allocate_outside_guest_memory(rt, size, &address);
    if (e != cudaSuccess) return e;
    rt.allocations.insert(address, size, vgpu::guest::Channel::thread_device());
    *devPtr = reinterpret_cast<void*>(static_cast<uintptr_t>(address));
    return cudaSuccess;
  });
}

VGPU_EXPORT cudaError_t cudaFree(void* devPtr) {
  trace_api("cudaFree ptr=%p", devPtr);
  if (devPtr == nullptr) {
    // CUDA: freeing null succeeds (and initializes the runtime, which programs rely on).
    return local_call([](Runtime&) { return cudaSuccess; });
  }
  return remote_call([&](Runtime& rt) {
    auto address = static_cast<uint64_t>(reinterpret_cast<uintptr_t>(devPtr));
    vgpu::proto::MemFreeRequest request{address};
    vgpu::guest::CallResult r = rt.channel->call(CallId::MemFree, {{&request, sizeof request}}, {});
    if (r.status != 0) return to_cuda_error(r.status);
    if (auto range = rt.allocations.find(address); range && range->start == address) {
      rt.allocations.erase(address);
      vgpu::guest::release_device_range(range->start, range->size);
    }
    return cudaSuccess;
  });
}

VGPU_EXPORT cudaError_t cudaMallocHost(void** ptr, size_t size) {
  trace_api("cudaMallocHost size=%zu", size);
  return host_alloc(ptr, size, cudaHostAllocDefault);
}

VGPU_EXPORT cudaError_t cudaHostAlloc(void** pHost, size_t size, unsigned int flags) {
  trace_api("cudaHostAlloc size=%zu flags=%u", size, flags);
  return host_alloc(pHost, size, flags);
}

VGPU_EXPORT cudaError_t cudaFreeHost(void* ptr) {
  trace_api("cudaFreeHost ptr=%p", ptr);
  if (ptr == nullptr) return local_call([](Runtime&) { return cudaSuccess; });
  return remote_call([&](Runtime& rt) {
    // Like CUDA, wait for the device first: a copy still queued on a stream may target this
    // memory, and the block could otherwise be handed out again under it.
    int32_t status = rt.channel->call(CallId::DeviceSynchronize, {}, {}).status;
    if (rt.host_heap == nullptr || !rt.host_heap->release(ptr)) return cudaErrorInvalidValue;
    return to_cuda_error(status);
  });
}

VGPU_EXPORT cudaError_t cudaPointerGetAttributes(cudaPointerAttributes* attributes, const void* ptr) {
  trace_api("cudaPointerGetAttributes ptr=%p", ptr);
  return local_call([&](Runtime& rt) {
    if (attributes == nullptr) return cudaErrorInvalidValue;
    std::memset(attributes, 0, sizeof *attributes);
    auto address = static_cast<uint64_t>(reinterpret_cast<uintptr_t>(ptr));
    if (auto range = rt.allocations.find(address)) {
      attributes->type = cudaMemoryTypeDevice;
      attributes->device = static_cast<int>(range->device);
      attributes->devicePointer = const_cast<void*>(ptr);
    } else if (auto symbol = rt.symbols.find(address)) {
      attributes->type = cudaMemoryTypeDevice;
      attributes->device = static_cast<int>(symbol->device);
      attributes->devicePointer = const_cast<void*>(ptr);
    } else if (classify_pointer(ptr, 1, rt.heap(), rt.allocations, rt.symbols).kind == PtrKind::Heap) {
      // Page-locked host memory without a device mapping (vgpu maps no host memory into the GPU).
      attributes->type = cudaMemoryTypeHost;
      attributes->device = static_cast<int>(vgpu::guest::Channel::thread_device());
      attributes->hostPointer = const_cast<void*>(ptr);
    } else {
      attributes->type = cudaMemoryTypeUnregistered;
      attributes->device = -2;  // what CUDA reports for memory it does not know
      attributes->hostPointer = const_cast<void*>(ptr);
    }
    return cudaSuccess;
  });
}
