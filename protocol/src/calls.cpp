#include "vgpu/protocol/calls.h"

namespace vgpu::proto {

std::string_view call_name(CallId id) {
  switch (id) {
    case CallId::Hello: return "HELLO";
    case CallId::Ping: return "PING";
    case CallId::DeviceGetInfo: return "DEVICE_GET_INFO";
    case CallId::SetDevice: return "SET_DEVICE";
    case CallId::DeviceSynchronize: return "DEVICE_SYNCHRONIZE";
    case CallId::DeviceReset: return "DEVICE_RESET";
    case CallId::MemGetInfo: return "MEM_GET_INFO";
    case CallId::DeviceCanAccessPeer: return "DEVICE_CAN_ACCESS_PEER";
    case CallId::PeerAccessEnable: return "PEER_ACCESS_ENABLE";
    case CallId::PeerAccessDisable: return "PEER_ACCESS_DISABLE";
    case CallId::MemAlloc: return "MEM_ALLOC";
    case CallId::MemFree: return "MEM_FREE";
    case CallId::MemcpyHtoDInline: return "MEMCPY_HTOD_INLINE";
    case CallId::MemcpyHtoDStaged: return "MEMCPY_HTOD_STAGED";
    case CallId::MemcpyHtoDShared: return "MEMCPY_HTOD_SHARED";
    case CallId::MemcpyDtoHInline: return "MEMCPY_DTOH_INLINE";
    case CallId::MemcpyDtoHStaged: return "MEMCPY_DTOH_STAGED";
    case CallId::MemcpyDtoHShared: return "MEMCPY_DTOH_SHARED";
    case CallId::MemcpyDtoD: return "MEMCPY_DTOD";
    case CallId::Memset: return "MEMSET";
    case CallId::BlobAppend: return "BLOB_APPEND";
    case CallId::ModuleLoad: return "MODULE_LOAD";
    case CallId::ModuleUnload: return "MODULE_UNLOAD";
    case CallId::ModuleGetFunction: return "MODULE_GET_FUNCTION";
    case CallId::ModuleGetGlobal: return "MODULE_GET_GLOBAL";
    case CallId::LaunchKernel: return "LAUNCH_KERNEL";
    case CallId::FuncGetAttributes: return "FUNC_GET_ATTRIBUTES";
    case CallId::FuncSetAttribute: return "FUNC_SET_ATTRIBUTE";
    case CallId::OccupancyMaxBlocks: return "OCCUPANCY_MAX_BLOCKS";
    case CallId::StreamCreate: return "STREAM_CREATE";
    case CallId::StreamDestroy: return "STREAM_DESTROY";
    case CallId::StreamSynchronize: return "STREAM_SYNCHRONIZE";
    case CallId::StreamQuery: return "STREAM_QUERY";
    case CallId::StreamWaitEvent: return "STREAM_WAIT_EVENT";
    case CallId::EventCreate: return "EVENT_CREATE";
    case CallId::EventDestroy: return "EVENT_DESTROY";
    case CallId::EventRecord: return "EVENT_RECORD";
    case CallId::EventSynchronize: return "EVENT_SYNCHRONIZE";
    case CallId::EventQuery: return "EVENT_QUERY";
    case CallId::EventElapsedTime: return "EVENT_ELAPSED_TIME";
  }
  return "UNKNOWN";
}

std::string_view call_name(uint16_t raw_id) { return call_name(static_cast<CallId>(raw_id)); }

}  // namespace vgpu::proto
