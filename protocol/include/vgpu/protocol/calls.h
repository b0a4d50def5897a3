// Call ids: one per driver-API-level operation (docs/design.md §4). Values are part of the wire
// format; never renumber, only append. docs/protocol.md has the table with payloads.
#pragma once
#include <cstdint>
#include <string_view>

namespace vgpu::proto {

enum class CallId : uint16_t {
  // Session
  Hello = 0x0001,
  Ping = 0x0002,  // no work: the transport's round trip, for benchmarks and health checks

  // Devices
  DeviceGetInfo = 0x0010,
  SetDevice = 0x0011,
  DeviceSynchronize = 0x0012,
  DeviceReset = 0x0013,
  MemGetInfo = 0x0014,
  DeviceCanAccessPeer = 0x0015,
  PeerAccessEnable = 0x0016,
  PeerAccessDisable = 0x0017,

  // Memory
  MemAlloc = 0x0030,
  MemFree = 0x0031,
  MemcpyHtoDInline = 0x0032,
  MemcpyHtoDStaged = 0x0033,
  MemcpyHtoDShared = 0x0034,
  MemcpyDtoHInline = 0x0035,
  MemcpyDtoHStaged = 0x0036,
  MemcpyDtoHShared = 0x0037,
  MemcpyDtoD = 0x0038,
  Memset = 0x0039,

  // Modules and kernels
  BlobAppend = 0x0050,
  ModuleLoad = 0x0051,
  ModuleUnload = 0x0052,
  ModuleGetFunction = 0x0053,
  ModuleGetGlobal = 0x0054,
  LaunchKernel = 0x0055,
  FuncGetAttributes = 0x0056,
  FuncSetAttribute = 0x0057,
  OccupancyMaxBlocks = 0x0058,

  // Streams
  StreamCreate = 0x0070,
  StreamDestroy = 0x0071,
  StreamSynchronize = 0x0072,
  StreamQuery = 0x0073,
  StreamWaitEvent = 0x0074,

  // Events
  EventCreate = 0x0080,
  EventDestroy = 0x0081,
  EventRecord = 0x0082,
  EventSynchronize = 0x0083,
  EventQuery = 0x0084,
  EventElapsedTime = 0x0085,
};

// Upper-case name used in logs ("MEM_ALLOC"); "UNKNOWN" for ids not in the table.
std::string_view call_name(CallId id);
std::string_view call_name(uint16_t raw_id);

}  // namespace vgpu::proto
