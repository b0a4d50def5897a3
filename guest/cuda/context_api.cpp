// Contexts and primary contexts. vgpud keeps one real context per device and channel; a guest
// context names a device (context.h). Several contexts on one device therefore share their
// allocations on the host, where the driver would keep them apart: a program sees no
// difference unless it relies on a pointer from one context failing in another.
#include "guest/client/typed_call.h"
#include "guest/cuda/api.h"
#include "guest/cuda/device_memory.h"
#include "guest/cuda/mem_pools.h"
#include "guest/cuda/streams.h"
#include "guest/cuda/driver_state.h"

using namespace vgpu::cuda;
namespace proto = vgpu::proto;
namespace guest = vgpu::guest;

namespace {

CUresult check_device(CUdevice dev) {
  if (CUresult r = init_status(); r != CUDA_SUCCESS) return r;
  if (dev < 0 || static_cast<uint32_t>(dev) >= device_count()) return CUDA_ERROR_INVALID_DEVICE;
  return CUDA_SUCCESS;
}

CUresult create(CUcontext* pctx, unsigned flags, CUdevice dev) {
  if (pctx == nullptr) return CUDA_ERROR_INVALID_VALUE;
  if (CUresult r = check_device(dev); r != CUDA_SUCCESS) return r;
  Context* c = create_context(static_cast<uint32_t>(dev), flags);
  if (!push_context(c)) {
    destroy_context(c);
    return CUDA_ERROR_OUT_OF_MEMORY;
  }
  *pctx = handle_of(c);
  return CUDA_SUCCESS;
}

// The device's whole work, as the driver's context synchronize waits for it.
CUresult synchronize(Context* c) {
  vgpu::guest::Channel* ch = channel();
  if (ch == nullptr) return CUDA_ERROR_NOT_INITIALIZED;
  vgpu::guest::Channel::set_thread_device(c->device);
  const CUresult r = to_cu_result(ch->call(proto::CallId::DeviceSynchronize, {}, {}).status);
  if (r == CUDA_SUCCESS) mem_pools_synchronized(c->device);
  return r;
}

CUresult primary_release(CUdevice dev) {
  if (CUresult r = check_device(dev); r != CUDA_SUCCESS) return r;
  Context* c = primary_context(static_cast<uint32_t>(dev));
  int now = c->retains.load();
  do {
    if (now == 0) return CUDA_ERROR_INVALID_CONTEXT;
  } while (!c->retains.compare_exchange_weak(now, now - 1));
  // The last release ends the context for the runtime (its storage's destructors run), but
  // keeps what vgpud holds: a later retain finds memory the driver would have freed, which
  // nothing valid can tell.
  if (now == 1) {
    c->storage.destroy_all(handle_of(c));
    c->flags.store(0);  // as the driver's: a released primary context's flags go back to default
  }
  return CUDA_SUCCESS;
}

CUresult primary_reset(CUdevice dev) {
  if (CUresult r = check_device(dev); r != CUDA_SUCCESS) return r;
  Context* c = primary_context(static_cast<uint32_t>(dev));
  c->storage.destroy_all(handle_of(c));
  c->retains.store(0);
  c->sticky.store(0);
  clear_device_sticky(c->device);
  vgpu::guest::Channel::set_thread_device(c->device);
  const CUresult r = to_cu_result(channel()->call(proto::CallId::DeviceReset, {}, {}).status);
  if (r == CUDA_SUCCESS) {
    forget_device_memory(c->device);
    forget_mem_pools(c->device);
    next_device_generation(c->device);
  }
  return r;
}

CUresult primary_set_flags(CUdevice dev, unsigned flags) {
  if (CUresult r = check_device(dev); r != CUDA_SUCCESS) return r;
  primary_context(static_cast<uint32_t>(dev))->flags.store(flags);
  return CUDA_SUCCESS;
}

}  // namespace

VGPU_DRIVER_API CUresult cuCtxCreate(CUcontext* pctx, unsigned int flags, CUdevice dev) {
  return guarded([&] { return create(pctx, flags, dev); });
}
VGPU_DRIVER_API CUresult cuCtxCreate_v2(CUcontext* pctx, unsigned int flags, CUdevice dev) {
  return guarded([&] { return create(pctx, flags, dev); });
}
VGPU_DRIVER_API CUresult cuCtxCreate_v3(CUcontext* pctx, CUexecAffinityParam*, int, unsigned int flags, CUdevice dev) {
  // Execution affinity (an SM count) is not offered: the context gets the whole device.
  return guarded([&] { return create(pctx, flags, dev); });
}
VGPU_DRIVER_API CUresult cuCtxCreate_v4(CUcontext* pctx, CUctxCreateParams* params, unsigned int flags, CUdevice dev) {
  if (params != nullptr && (params->execAffinityParams != nullptr || params->cigParams != nullptr))
    return CUDA_ERROR_NOT_SUPPORTED;
  return guarded([&] { return create(pctx, flags, dev); });
}

VGPU_DRIVER_API CUresult cuCtxDestroy_v2(CUcontext ctx) {
  return guarded([&] { return destroy_context(context_from_handle(ctx)) ? CUDA_SUCCESS : CUDA_ERROR_INVALID_CONTEXT; });
}
VGPU_DRIVER_API CUresult cuCtxDestroy(CUcontext ctx) { return cuCtxDestroy_v2(ctx); }

VGPU_DRIVER_API CUresult cuCtxPushCurrent_v2(CUcontext ctx) {
  Context* c = context_from_handle(ctx);
  if (c == nullptr) return CUDA_ERROR_INVALID_CONTEXT;
  return push_context(c) ? CUDA_SUCCESS : CUDA_ERROR_OUT_OF_MEMORY;
}
VGPU_DRIVER_API CUresult cuCtxPushCurrent(CUcontext ctx) { return cuCtxPushCurrent_v2(ctx); }

VGPU_DRIVER_API CUresult cuCtxPopCurrent_v2(CUcontext* pctx) {
  Context* c = pop_context();
  if (c == nullptr) return CUDA_ERROR_INVALID_CONTEXT;
  if (pctx != nullptr) *pctx = handle_of(c);
  return CUDA_SUCCESS;
}
VGPU_DRIVER_API CUresult cuCtxPopCurrent(CUcontext* pctx) { return cuCtxPopCurrent_v2(pctx); }

VGPU_DRIVER_API CUresult cuCtxSetCurrent(CUcontext ctx) {
  if (init_status() != CUDA_SUCCESS) return CUDA_ERROR_NOT_INITIALIZED;
  Context* c = nullptr;
  if (ctx != nullptr && (c = context_from_handle(ctx)) == nullptr) return CUDA_ERROR_INVALID_CONTEXT;
  set_current_context(c);
  return CUDA_SUCCESS;
}

VGPU_DRIVER_API CUresult cuCtxGetCurrent(CUcontext* pctx) {
  if (pctx == nullptr) return CUDA_ERROR_INVALID_VALUE;
  if (init_status() != CUDA_SUCCESS) return CUDA_ERROR_NOT_INITIALIZED;
  *pctx = handle_of(current_context());
  return CUDA_SUCCESS;
}

VGPU_DRIVER_API CUresult cuCtxGetDevice(CUdevice* device) {
  if (device == nullptr) return CUDA_ERROR_INVALID_VALUE;
  if (init_status() != CUDA_SUCCESS) return CUDA_ERROR_NOT_INITIALIZED;
  Context* c = current_context();
  if (c == nullptr) return CUDA_ERROR_INVALID_CONTEXT;
  *device = static_cast<CUdevice>(c->device);
  return CUDA_SUCCESS;
}

VGPU_DRIVER_API CUresult cuCtxGetDevice_v2(CUdevice* device, CUcontext ctx) {
  if (ctx == nullptr) return cuCtxGetDevice(device);
  if (device == nullptr) return CUDA_ERROR_INVALID_VALUE;
  Context* c = context_from_handle(ctx);
  if (c == nullptr) return CUDA_ERROR_INVALID_CONTEXT;
  *device = static_cast<CUdevice>(c->device);
  return CUDA_SUCCESS;
}

VGPU_DRIVER_API CUresult cuCtxSynchronize(void) {
  return guarded([&] {
    Context* c = current_context();
    if (init_status() != CUDA_SUCCESS) return CUDA_ERROR_NOT_INITIALIZED;
    return c == nullptr ? CUDA_ERROR_INVALID_CONTEXT : synchronize(c);
  });
}

VGPU_DRIVER_API CUresult cuCtxSynchronize_v2(CUcontext ctx) {
  if (ctx == nullptr) return cuCtxSynchronize();
  return guarded([&] {
    Context* c = context_from_handle(ctx);
    return c == nullptr ? CUDA_ERROR_INVALID_CONTEXT : synchronize(c);
  });
}

VGPU_DRIVER_API CUresult cuCtxGetFlags(unsigned int* flags) {
  if (flags == nullptr) return CUDA_ERROR_INVALID_VALUE;
  Context* c = current_context();
  if (c == nullptr) return CUDA_ERROR_INVALID_CONTEXT;
  *flags = c->flags.load();
  return CUDA_SUCCESS;
}

VGPU_DRIVER_API CUresult cuCtxSetFlags(unsigned int flags) {
  Context* c = current_context();
  if (c == nullptr) return CUDA_ERROR_INVALID_CONTEXT;
  c->flags.store(flags);
  return CUDA_SUCCESS;
}

VGPU_DRIVER_API CUresult cuCtxGetApiVersion(CUcontext ctx, unsigned int* version) {
  if (version == nullptr) return CUDA_ERROR_INVALID_VALUE;
  if (ctx != nullptr && context_from_handle(ctx) == nullptr) return CUDA_ERROR_INVALID_CONTEXT;
  *version = 3020;  // every context made since CUDA 3.2 reports this
  return CUDA_SUCCESS;
}

VGPU_DRIVER_API CUresult cuCtxGetId(CUcontext ctx, unsigned long long* id) {
  if (id == nullptr) return CUDA_ERROR_INVALID_VALUE;
  Context* c = ctx == nullptr ? current_context() : context_from_handle(ctx);
  if (c == nullptr) return CUDA_ERROR_INVALID_CONTEXT;
  *id = c->id;
  return CUDA_SUCCESS;
}

VGPU_DRIVER_API CUresult cuCtxGetStreamPriorityRange(int* least, int* greatest) {
  if (current_context() == nullptr) return CUDA_ERROR_INVALID_CONTEXT;
  // The range of every GPU since compute capability 3.5 (vgpud's streams get these priorities).
  if (least != nullptr) *least = kLeastPriority;
  if (greatest != nullptr) *greatest = kGreatestPriority;
  return CUDA_SUCCESS;
}

VGPU_DRIVER_API CUresult cuDevicePrimaryCtxRetain(CUcontext* pctx, CUdevice dev) {
  if (CUresult r = check_device(dev); r != CUDA_SUCCESS) return r;
  if (pctx == nullptr) return CUDA_ERROR_INVALID_VALUE;
  Context* c = primary_context(static_cast<uint32_t>(dev));
  if (int sticky = device_sticky(c->device); sticky != 0) return static_cast<CUresult>(sticky);
  c->retains.fetch_add(1);
  *pctx = handle_of(c);
  return CUDA_SUCCESS;
}

VGPU_DRIVER_API CUresult cuDevicePrimaryCtxRelease_v2(CUdevice dev) { return guarded([&] { return primary_release(dev); }); }
VGPU_DRIVER_API CUresult cuDevicePrimaryCtxRelease(CUdevice dev) { return cuDevicePrimaryCtxRelease_v2(dev); }
VGPU_DRIVER_API CUresult cuDevicePrimaryCtxReset_v2(CUdevice dev) { return guarded([&] { return primary_reset(dev); }); }
VGPU_DRIVER_API CUresult cuDevicePrimaryCtxReset(CUdevice dev) { return cuDevicePrimaryCtxReset_v2(dev); }
VGPU_DRIVER_API CUresult cuDevicePrimaryCtxSetFlags_v2(CUdevice dev, unsigned int flags) { return primary_set_flags(dev, flags); }
VGPU_DRIVER_API CUresult cuDevicePrimaryCtxSetFlags(CUdevice dev, unsigned int flags) { return primary_set_flags(dev, flags); }

VGPU_DRIVER_API CUresult cuDevicePrimaryCtxGetState(CUdevice dev, unsigned int* flags, int* active) {
  if (flags == nullptr || active == nullptr) return CUDA_ERROR_INVALID_VALUE;
  if (CUresult r = check_device(dev); r != CUDA_SUCCESS) return r;
  Context* c = primary_context(static_cast<uint32_t>(dev));
  *flags = c->flags.load();
  *active = c->retains.load() > 0 ? 1 : 0;
  return CUDA_SUCCESS;
}

// Peer access between the current context's device and peer's: vgpud enables it between its
// own contexts of the two devices.
VGPU_DRIVER_API CUresult cuCtxEnablePeerAccess(CUcontext peer, unsigned int flags) {
  return guarded([&] {
    guest::Channel* ch = nullptr;
    if (CUresult r = enter_context(&ch, nullptr); r != CUDA_SUCCESS) return r;
    Context* p = context_from_handle(peer);
    if (p == nullptr) return CUDA_ERROR_INVALID_CONTEXT;
    const proto::PeerAccessRequest request{p->device, flags};
    return to_cu_result(ch->call(proto::CallId::PeerAccessEnable, {{&request, sizeof request}}, {}).status);
  });
}

VGPU_DRIVER_API CUresult cuCtxDisablePeerAccess(CUcontext peer) {
  return guarded([&] {
    guest::Channel* ch = nullptr;
    if (CUresult r = enter_context(&ch, nullptr); r != CUDA_SUCCESS) return r;
    Context* p = context_from_handle(peer);
    if (p == nullptr) return CUDA_ERROR_INVALID_CONTEXT;
    const proto::PeerAccessRequest request{p->device, 0};
    return to_cu_result(ch->call(proto::CallId::PeerAccessDisable, {{&request, sizeof request}}, {}).status);
  });
}

// The cache configuration is a preference the driver may ignore (and does on GPUs whose L1 and
// shared memory are carved per kernel): the context keeps it to answer cuCtxGetCacheConfig.
VGPU_DRIVER_API CUresult cuCtxGetCacheConfig(CUfunc_cache* config) {
  if (config == nullptr) return CUDA_ERROR_INVALID_VALUE;
  Context* c = current_context();
  if (c == nullptr) return CUDA_ERROR_INVALID_CONTEXT;
  *config = static_cast<CUfunc_cache>(c->cache_config.load());
  return CUDA_SUCCESS;
}
VGPU_DRIVER_API CUresult cuCtxSetCacheConfig(CUfunc_cache config) {
  if (config < CU_FUNC_CACHE_PREFER_NONE || config > CU_FUNC_CACHE_PREFER_EQUAL) return CUDA_ERROR_INVALID_VALUE;
  Context* c = current_context();
  if (c == nullptr) return CUDA_ERROR_INVALID_CONTEXT;
  c->cache_config.store(config);
  return CUDA_SUCCESS;
}

// Shared memory bank size: fixed at four bytes since compute capability 5.0; setting it is
// accepted and changes nothing, as on the driver.
VGPU_DRIVER_API CUresult cuCtxGetSharedMemConfig(CUsharedconfig* config) {
  if (config == nullptr) return CUDA_ERROR_INVALID_VALUE;
  if (current_context() == nullptr) return CUDA_ERROR_INVALID_CONTEXT;
  *config = CU_SHARED_MEM_CONFIG_FOUR_BYTE_BANK_SIZE;
  return CUDA_SUCCESS;
}
VGPU_DRIVER_API CUresult cuCtxSetSharedMemConfig(CUsharedconfig config) {
  if (config < CU_SHARED_MEM_CONFIG_DEFAULT_BANK_SIZE || config > CU_SHARED_MEM_CONFIG_EIGHT_BYTE_BANK_SIZE)
    return CUDA_ERROR_INVALID_VALUE;
  if (current_context() == nullptr) return CUDA_ERROR_INVALID_CONTEXT;
  return CUDA_SUCCESS;
}

// Limits live in vgpud's context for the current device (stack size, printf FIFO, malloc heap,
// persisting L2 ...): asked and set there.
VGPU_DRIVER_API CUresult cuCtxGetLimit(size_t* value, CUlimit limit) {
  if (value == nullptr) return CUDA_ERROR_INVALID_VALUE;
  if (static_cast<uint32_t>(limit) >= vgpu::limits::kMaxContextLimits) return CUDA_ERROR_INVALID_VALUE;
  return guarded([&] {
    vgpu::guest::Channel* ch = nullptr;
    if (CUresult r = enter_context(&ch, nullptr); r != CUDA_SUCCESS) return r;
    proto::CtxGetLimitReply reply{};
    const vgpu::guest::CallResult r =
        vgpu::guest::call<proto::CallId::CtxGetLimit>(*ch, {static_cast<uint32_t>(limit), 0}, &reply);
    if (r.status != 0) return to_cu_result(r.status);
    *value = reply.value;
    return CUDA_SUCCESS;
  });
}
VGPU_DRIVER_API CUresult cuCtxSetLimit(CUlimit limit, size_t value) {
  if (static_cast<uint32_t>(limit) >= vgpu::limits::kMaxContextLimits) return CUDA_ERROR_INVALID_VALUE;
  return guarded([&] {
    vgpu::guest::Channel* ch = nullptr;
    if (CUresult r = enter_context(&ch, nullptr); r != CUDA_SUCCESS) return r;
    return to_cu_result(vgpu::guest::call<proto::CallId::CtxSetLimit>(*ch, {static_cast<uint32_t>(limit), 0, value}, nullptr).status);
  });
}


// Lines persist in L2 only under a stream's or launch's access policy window, a hint vgpu keeps
// in the guest and does not hand the GPU (stream attributes, launch attributes): no line of this
// context is persisting, so there is nothing to reset.
VGPU_DRIVER_API CUresult cuCtxResetPersistingL2Cache() {
  return guarded([&] {
    guest::Channel* ch = nullptr;
    return enter_context(&ch, nullptr);
  });
}
