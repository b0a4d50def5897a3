// Message layouts on the rings. Every struct here is a wire format: fixed size, little-endian,
// naturally aligned, no pointers. Offsets and sizes are pinned by static_asserts below and
// listed in docs/protocol.md.
//
// A request is RequestHeader + payload (+ a variable tail for some calls), padded to 8 bytes.
// A reply is ReplyHeader + payload, padded likewise. Only requests with kFlagNeedsReply get a
// reply; replies come back in request order.
#pragma once
#include <cstddef>
#include <cstdint>

#include "vgpu/protocol/calls.h"
#include "vgpu/protocol/limits.h"

namespace vgpu::proto {

inline constexpr uint32_t kMessageAlignment = 8;

constexpr uint32_t padded_size(uint32_t n) {
  return (n + kMessageAlignment - 1) & ~(kMessageAlignment - 1);
}

// Request flags.
inline constexpr uint16_t kFlagNeedsReply = 1u << 0;
// For stream-ordered copies to or from shared memory: wait for the stream before replying,
// which turns an async copy into cudaMemcpy's synchronous one.
inline constexpr uint16_t kFlagSynchronize = 1u << 1;
inline constexpr uint16_t kKnownRequestFlags = kFlagNeedsReply | kFlagSynchronize;

struct RequestHeader {
  uint32_t size;    // whole message in bytes, header included, before padding
  uint16_t call;    // CallId
  uint16_t flags;   // kFlag*
  uint64_t seq;     // per-channel sequence number, starts at 1, +1 per request
};
static_assert(sizeof(RequestHeader) == 16);
static_assert(offsetof(RequestHeader, size) == 0);
static_assert(offsetof(RequestHeader, call) == 4);
static_assert(offsetof(RequestHeader, flags) == 6);
static_assert(offsetof(RequestHeader, seq) == 8);

struct ReplyHeader {
  uint32_t size;         // whole reply in bytes, header included, before padding
  uint16_t call;         // echoes the request
  uint16_t reserved;
  uint64_t seq;          // echoes the request
  int32_t status;        // a CUresult value, or a Status below
  int32_t async_status;  // first error of a posted (reply-less) call since the last reply
};
static_assert(sizeof(ReplyHeader) == 24);
static_assert(offsetof(ReplyHeader, status) == 16);
static_assert(offsetof(ReplyHeader, async_status) == 20);

// Status values of vgpu's own, outside the CUresult range. A CUresult passes through as is.
enum class Status : int32_t {
  Ok = 0,
  MalformedMessage = 0x10001,   // size, flags or payload did not parse
  UnknownCall = 0x10002,        // call id not in calls.h
  VersionMismatch = 0x10003,    // Hello with another protocol version
  LimitExceeded = 0x10004,      // a limits.h or tenant limit
  ChannelBroken = 0x10005,      // the ring was corrupted; the channel is closed after this
  DriverUnavailable = 0x10006,  // vgpud could not create a context for this channel
};

// Stream handle on the wire. 0 and 1 are the legacy default stream; ids handed out by
// StreamCreate start at kFirstStreamId. The per-thread default stream is a real stream the
// guest creates for each thread.
inline constexpr uint64_t kStreamLegacy = 0;
inline constexpr uint64_t kStreamLegacyAlias = 1;
inline constexpr uint64_t kFirstStreamId = 0x100;

// --- Payloads. Request payloads are named <Call>Request, reply payloads <Call>Reply. ---

struct HelloRequest {
  uint32_t protocol_version;
  uint32_t pid;
  char process_name[64];  // NUL-padded, for logs only
};
static_assert(sizeof(HelloRequest) == 72);

struct HelloReply {
  uint32_t protocol_version;
  uint32_t device_count;
  int32_t driver_version;
  uint32_t reserved;
};
static_assert(sizeof(HelloReply) == 16);

struct DeviceGetInfoRequest {
  uint32_t device;
  uint32_t reserved;
};
static_assert(sizeof(DeviceGetInfoRequest) == 8);

struct DeviceGetInfoReply {
  char name[256];
  uint8_t uuid[16];
  uint64_t total_memory;
  uint32_t attribute_count;  // entries of attributes[] that are filled, indexed by CUdevice_attribute
  uint32_t reserved;
  int32_t attributes[limits::kMaxDeviceAttributes];
};
static_assert(sizeof(DeviceGetInfoReply) == 288 + 4 * limits::kMaxDeviceAttributes);
static_assert(offsetof(DeviceGetInfoReply, total_memory) == 272);
static_assert(offsetof(DeviceGetInfoReply, attributes) == 288);

struct SetDeviceRequest {
  uint32_t device;
  uint32_t reserved;
};
static_assert(sizeof(SetDeviceRequest) == 8);

// DeviceCanAccessPeer: may kernels on `device` read and write memory of `peer`?
struct DeviceCanAccessPeerRequest {
  uint32_t device;
  uint32_t peer;
};
struct DeviceCanAccessPeerReply {
  int32_t can_access;  // 0 or 1, as cuDeviceCanAccessPeer answers
  uint32_t reserved;
};
static_assert(sizeof(DeviceCanAccessPeerRequest) == 8 && sizeof(DeviceCanAccessPeerReply) == 8);

// PeerAccessEnable / PeerAccessDisable: from the calling thread's device to `peer`
// (cudaDeviceEnablePeerAccess). flags must be 0 for Disable.
struct PeerAccessRequest {
  uint32_t peer;
  uint32_t flags;
};
static_assert(sizeof(PeerAccessRequest) == 8);

struct MemGetInfoReply {
  uint64_t free_bytes;
  uint64_t total_bytes;
};
static_assert(sizeof(MemGetInfoReply) == 16);

struct MemAllocRequest {
  uint64_t size;
};
struct MemAllocReply {
  uint64_t device_ptr;
};
struct MemFreeRequest {
  uint64_t device_ptr;
};
static_assert(sizeof(MemAllocRequest) == 8 && sizeof(MemAllocReply) == 8 && sizeof(MemFreeRequest) == 8);

// HtoDInline: the data (size bytes) follows the payload in the message.
// HtoDStaged: the data is the next `size` bytes of the upload ring.
struct MemcpyHtoDRequest {
  uint64_t dst;
  uint64_t size;
  uint64_t stream;
};
static_assert(sizeof(MemcpyHtoDRequest) == 24);

// DtoHInline: reply carries the data. DtoHStaged: the data goes into the download ring in
// chunks; the reply carries MemcpyDtoHStagedReply.
struct MemcpyDtoHRequest {
  uint64_t src;
  uint64_t size;
  uint64_t stream;
};
static_assert(sizeof(MemcpyDtoHRequest) == 24);

struct MemcpyDtoHStagedReply {
  uint64_t bytes_published;  // how many bytes were put in the download ring
};
static_assert(sizeof(MemcpyDtoHStagedReply) == 8);

// Copies between device memory and the channel's shared heap (cudaMallocHost memory).
struct MemcpySharedRequest {
  uint64_t device_ptr;
  uint64_t heap_offset;
  uint64_t size;
  uint64_t stream;
};
static_assert(sizeof(MemcpySharedRequest) == 32);

struct MemcpyDtoDRequest {
  uint64_t dst;
  uint64_t src;
  uint64_t size;
  uint64_t stream;
};
static_assert(sizeof(MemcpyDtoDRequest) == 32);

struct MemsetRequest {
  uint64_t dst;
  uint64_t count;
  uint64_t stream;
  uint32_t value;  // low byte is used
  uint32_t reserved;
};
static_assert(sizeof(MemsetRequest) == 32);

// The next `size` bytes of the upload ring are appended to the channel's pending module image.
struct BlobAppendRequest {
  uint64_t size;
};
static_assert(sizeof(BlobAppendRequest) == 8);

// Loads the pending image, which must be exactly `size` bytes, and clears it.
struct ModuleLoadRequest {
  uint64_t size;
  uint64_t reserved;
};
struct ModuleLoadReply {
  uint32_t module;
  uint32_t reserved;
};
static_assert(sizeof(ModuleLoadRequest) == 16 && sizeof(ModuleLoadReply) == 8);

struct ModuleUnloadRequest {
  uint32_t module;
  uint32_t reserved;
};
static_assert(sizeof(ModuleUnloadRequest) == 8);

// Followed by name_length bytes of name (no NUL).
struct ModuleSymbolRequest {
  uint32_t module;
  uint32_t name_length;
};
static_assert(sizeof(ModuleSymbolRequest) == 8);

struct KernelParamInfo {
  uint32_t offset;
  uint32_t size;
};
static_assert(sizeof(KernelParamInfo) == 8);

// Followed by param_count KernelParamInfo entries, from cuFuncGetParamInfo.
struct ModuleGetFunctionReply {
  uint32_t function;
  uint32_t param_count;
  uint32_t param_buffer_size;  // bytes the packed parameter buffer takes
  uint32_t reserved;
};
static_assert(sizeof(ModuleGetFunctionReply) == 16);

struct ModuleGetGlobalReply {
  uint64_t device_ptr;
  uint64_t size;
};
static_assert(sizeof(ModuleGetGlobalReply) == 16);

// Followed by param_bytes bytes: every parameter packed at the offset the host reported.
struct LaunchKernelRequest {
  uint32_t function;
  uint32_t shared_mem_bytes;
  uint32_t grid[3];
  uint32_t block[3];
  uint64_t stream;
  uint32_t param_bytes;
  uint32_t reserved;
};
static_assert(sizeof(LaunchKernelRequest) == 48);
static_assert(offsetof(LaunchKernelRequest, stream) == 32);

struct FunctionRequest {
  uint32_t function;
  uint32_t reserved;
};
static_assert(sizeof(FunctionRequest) == 8);

// Indexed by CUfunction_attribute.
struct FuncGetAttributesReply {
  uint32_t count;
  uint32_t reserved;
  int32_t values[limits::kMaxFunctionAttributes];
};
static_assert(sizeof(FuncGetAttributesReply) == 8 + 4 * limits::kMaxFunctionAttributes);

struct FuncSetAttributeRequest {
  uint32_t function;
  int32_t attribute;  // CUfunction_attribute
  int32_t value;
  uint32_t reserved;
};
static_assert(sizeof(FuncSetAttributeRequest) == 16);

struct OccupancyMaxBlocksRequest {
  uint32_t function;
  int32_t block_size;
  uint64_t dynamic_shared_mem;
  uint32_t flags;
  uint32_t reserved;
};
static_assert(sizeof(OccupancyMaxBlocksRequest) == 24);

struct OccupancyMaxBlocksReply {
  int32_t blocks;
  uint32_t reserved;
};
static_assert(sizeof(OccupancyMaxBlocksReply) == 8);

struct StreamCreateRequest {
  uint32_t flags;  // CU_STREAM_DEFAULT or CU_STREAM_NON_BLOCKING
  int32_t priority;
};
struct StreamCreateReply {
  uint64_t stream;
};
static_assert(sizeof(StreamCreateRequest) == 8 && sizeof(StreamCreateReply) == 8);

// StreamDestroy, StreamSynchronize, StreamQuery.
struct StreamRequest {
  uint64_t stream;
};
static_assert(sizeof(StreamRequest) == 8);

struct StreamWaitEventRequest {
  uint64_t stream;
  uint32_t event;
  uint32_t flags;
};
static_assert(sizeof(StreamWaitEventRequest) == 16);

struct EventCreateRequest {
  uint32_t flags;  // CU_EVENT_*
  uint32_t reserved;
};
struct EventCreateReply {
  uint32_t event;
  uint32_t reserved;
};
static_assert(sizeof(EventCreateRequest) == 8 && sizeof(EventCreateReply) == 8);

// EventDestroy, EventSynchronize, EventQuery.
struct EventRequest {
  uint32_t event;
  uint32_t reserved;
};
static_assert(sizeof(EventRequest) == 8);

struct EventRecordRequest {
  uint32_t event;
  uint32_t reserved;
  uint64_t stream;
};
static_assert(sizeof(EventRecordRequest) == 16);

struct EventElapsedTimeRequest {
  uint32_t start;
  uint32_t end;
};
struct EventElapsedTimeReply {
  float milliseconds;
  uint32_t reserved;
};
static_assert(sizeof(EventElapsedTimeRequest) == 8 && sizeof(EventElapsedTimeReply) == 8);

}  // namespace vgpu::proto
