// Message layouts on the rings. Every struct here is a wire format: fixed size, little-endian,
// naturally aligned, no pointers. Offsets and sizes are pinned by static_asserts and listed in
// docs/protocol.md. This file holds the headers; the payload structs of the calls
// (<Call>Request, <Call>Reply, ...) are declared in protocol/calls.yaml and generated into
// payloads.gen.h, included below.
//
// A request is RequestHeader + payload (+ a variable tail for some calls), padded to 8 bytes.
// A reply is ReplyHeader + payload, padded likewise. Only requests with kFlagNeedsReply get a
// reply; replies come back in request order.
#pragma once
#include <cstddef>
#include <cstdint>

#include "vgpu/protocol/calls.h"
#include "vgpu/protocol/limits.h"
#include "vgpu/protocol/payloads.gen.h"

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

// A record vgpud puts in the reply ring ahead of a reply, answering no request: text a kernel's
// device-side printf wrote, which the driver prints to the worker's standard output when the
// context synchronizes. `call` is this value, `seq` 0, `status` and `async_status` 0; the
// payload is the text (at most kMaxDeviceOutputRecord bytes), for the guest process's stdout.
// No request carries this id: a guest that sends it gets UNKNOWN_CALL like any unknown id.
inline constexpr uint16_t kDeviceOutputRecord = 0xFFF0;
inline constexpr uint32_t kMaxDeviceOutputRecord = 16 * 1024;

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

// MODULE_LOAD_CACHED's answer when the tenant's module cache holds no image of that digest:
// CUDA_ERROR_NOT_FOUND (cuda.h), which no step of loading a cached image returns otherwise. The
// guest then uploads the image.
inline constexpr int32_t kStatusNotCached = 500;

// Stream handle on the wire. 0 and 1 are the legacy default stream; ids handed out by
// StreamCreate start at kFirstStreamId. The per-thread default stream is a real stream the
// guest creates for each thread.
inline constexpr uint64_t kStreamLegacy = 0;
inline constexpr uint64_t kStreamLegacyAlias = 1;
inline constexpr uint64_t kFirstStreamId = 0x100;

// LAUNCH_KERNEL_EX's flags: the launch attributes that carry no value of their own.
inline constexpr uint32_t kLaunchCooperative = 1u << 0;
inline constexpr uint32_t kLaunchPriority = 1u << 1;  // `priority` holds it
// Programmatic stream serialization: the kernel may start before the stream's previous kernel
// has finished (it waits for its memory with cudaGridDependencySynchronize).
inline constexpr uint32_t kLaunchProgrammatic = 1u << 2;
inline constexpr uint32_t kKnownLaunchFlags = kLaunchCooperative | kLaunchPriority | kLaunchProgrammatic;

}  // namespace vgpu::proto
