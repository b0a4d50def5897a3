// The connect handshake on a tenant's local UNIX socket (SOCK_STREAM). The guest process sends
// HandshakeRequest; vgpud answers HandshakeReply and, when status is 0, passes three file
// descriptors with SCM_RIGHTS in this order: the channel region (memfd, region_size bytes),
// the doorbell eventfd (guest writes to wake vgpud) and the notify eventfd (vgpud writes to
// wake the guest). The socket then stays open for the life of the channel: its closing is how
// vgpud learns that the process is gone, however it died.
#pragma once
#include <cstdint>

namespace vgpu::proto {

struct HandshakeRequest {
  uint32_t magic;             // kHandshakeMagic
  uint32_t protocol_version;  // kProtocolVersion
  uint32_t reserved[2];
};
static_assert(sizeof(HandshakeRequest) == 16);

enum class HandshakeStatus : int32_t {
  Ok = 0,
  VersionMismatch = 1,
  TenantFull = 2,        // the tenant's max_processes channels are open
  ResourceFailure = 3,   // vgpud could not create the region or eventfds
  ShuttingDown = 4,
};

struct HandshakeReply {
  uint32_t magic;             // kHandshakeMagic
  uint32_t protocol_version;  // vgpud's kProtocolVersion
  int32_t status;             // HandshakeStatus
  uint32_t reserved;
  uint64_t region_size;
  char message[96];           // NUL-terminated explanation when status != 0
};
static_assert(sizeof(HandshakeReply) == 120);

inline constexpr int kHandshakeFdCount = 3;

}  // namespace vgpu::proto
