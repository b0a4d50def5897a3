// Validated requests: what parse_request() turns message bytes into. Handlers in the executor
// only ever see these types, never guest memory. Field meanings are in protocol/messages.h.
#pragma once
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "vgpu/protocol/calls.h"

#include "vgpud/protocol_alias.h"

namespace vgpud {

struct HelloCmd { uint32_t protocol_version; uint32_t pid; std::string process_name; };
struct PingCmd {};
struct DeviceGetInfoCmd { uint32_t device; };
struct SetDeviceCmd { uint32_t device; };
struct DeviceSynchronizeCmd {};
struct DeviceResetCmd {};
struct MemGetInfoCmd {};
struct DeviceCanAccessPeerCmd { uint32_t device; uint32_t peer; };
// From the current device to `peer`; enable carries CUDA's flags (0 today).
struct PeerAccessEnableCmd { uint32_t peer; uint32_t flags; };
struct PeerAccessDisableCmd { uint32_t peer; };
struct MemAllocCmd { uint64_t size; };
struct MemFreeCmd { uint64_t device_ptr; };
struct MemcpyHtoDInlineCmd { uint64_t dst; uint64_t stream; std::vector<uint8_t> data; };
struct MemcpyHtoDStagedCmd { uint64_t dst; uint64_t size; uint64_t stream; };
struct MemcpyDtoHInlineCmd { uint64_t src; uint64_t size; uint64_t stream; };
struct MemcpyDtoHStagedCmd { uint64_t src; uint64_t size; uint64_t stream; };
// Copies between device memory and the shared heap; to_device gives the direction.
struct MemcpySharedCmd { bool to_device; uint64_t device_ptr; uint64_t heap_offset; uint64_t size; uint64_t stream; };
struct MemcpyDtoDCmd { uint64_t dst; uint64_t src; uint64_t size; uint64_t stream; };
struct MemsetCmd { uint64_t dst; uint64_t count; uint64_t stream; uint8_t value; };
struct BlobAppendCmd { uint64_t size; };
struct ModuleLoadCmd { uint64_t size; };
struct ModuleUnloadCmd { uint32_t module; };
struct ModuleGetFunctionCmd { uint32_t module; std::string name; };
struct ModuleGetGlobalCmd { uint32_t module; std::string name; };
struct LaunchKernelCmd {
  uint32_t function;
  uint32_t grid[3];
  uint32_t block[3];
  uint32_t shared_mem_bytes;
  uint64_t stream;
  std::vector<uint8_t> params;
};
struct FuncGetAttributesCmd { uint32_t function; };
struct FuncSetAttributeCmd { uint32_t function; int32_t attribute; int32_t value; };
struct OccupancyMaxBlocksCmd { uint32_t function; int32_t block_size; uint64_t dynamic_shared_mem; uint32_t flags; };
struct StreamCreateCmd { uint32_t flags; int32_t priority; };
struct StreamDestroyCmd { uint64_t stream; };
struct StreamSynchronizeCmd { uint64_t stream; };
struct StreamQueryCmd { uint64_t stream; };
struct StreamWaitEventCmd { uint64_t stream; uint32_t event; uint32_t flags; };
struct EventCreateCmd { uint32_t flags; };
struct EventDestroyCmd { uint32_t event; };
struct EventRecordCmd { uint32_t event; uint64_t stream; };
struct EventSynchronizeCmd { uint32_t event; };
struct EventQueryCmd { uint32_t event; };
struct EventElapsedTimeCmd { uint32_t start; uint32_t end; };
// A message whose header parsed but whose body did not: answered with `status`.
struct RejectedCmd { int32_t status; };

using Command = std::variant<
    HelloCmd, PingCmd, DeviceGetInfoCmd, SetDeviceCmd, DeviceSynchronizeCmd, DeviceResetCmd, MemGetInfoCmd,
    DeviceCanAccessPeerCmd, PeerAccessEnableCmd, PeerAccessDisableCmd,
    MemAllocCmd, MemFreeCmd, MemcpyHtoDInlineCmd, MemcpyHtoDStagedCmd, MemcpyDtoHInlineCmd,
    MemcpyDtoHStagedCmd, MemcpySharedCmd, MemcpyDtoDCmd, MemsetCmd, BlobAppendCmd, ModuleLoadCmd,
    ModuleUnloadCmd, ModuleGetFunctionCmd, ModuleGetGlobalCmd, LaunchKernelCmd,
    FuncGetAttributesCmd, FuncSetAttributeCmd, OccupancyMaxBlocksCmd, StreamCreateCmd,
    StreamDestroyCmd, StreamSynchronizeCmd, StreamQueryCmd, StreamWaitEventCmd, EventCreateCmd,
    EventDestroyCmd, EventRecordCmd, EventSynchronizeCmd, EventQueryCmd, EventElapsedTimeCmd,
    RejectedCmd>;

struct Request {
  proto::CallId call;  // may be an unknown value when command is RejectedCmd
  uint16_t flags;
  uint64_t seq;
  Command command;

  bool needs_reply() const;
  bool synchronize() const;
};

}  // namespace vgpud
