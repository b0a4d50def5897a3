// The wire messages of QEMU's ivshmem client-server protocol (QEMU's docs/specs/ivshmem-spec.rst),
// server side. The connection is one-way, server to client; every message is one little-endian
// int64, optionally with one descriptor attached (SCM_RIGHTS). On connect the server sends, in
// order:
//
// step value                             descriptor     meaning
// 1    0                                 none           the protocol version
// 2    the client's own ID               none           what its IVPosition register reads
// 3    -1                                shared memory  what the device maps as BAR2
// 4    a peer's ID, once per vector      an eventfd     connect notification: the client
//                                                       writes vector v's to interrupt the peer
// 5    the client's ID, once per vector  an eventfd     interrupt setup: the client's own
//                                                       vectors, which its peers write
//
// After that a peer ID without a descriptor means "that peer is gone" (vgpud never sends one:
// it has only the one peer). IDs are 0 … 65535, the Doorbell register's 16 bits.
//
// Nothing here knows about slots or regions: ivshmem_server.cpp decides what to send.
#pragma once
#include <array>
#include <cstdint>
#include <span>
#include <vector>

namespace vgpud::ivshmem {

inline constexpr int64_t kProtocolVersion = 0;
// The value that carries the shared memory's descriptor (step 3).
inline constexpr int64_t kSharedMemoryMessage = -1;
inline constexpr int64_t kMaxPeerId = 65535;

// One message to send. The descriptor is borrowed: sending passes a duplicate to the client.
struct Message {
  int64_t value;
  int fd = -1;  // < 0: none attached
  bool operator==(const Message&) const = default;
};

// The 8 bytes of a message's value, little-endian whatever the host's byte order.
std::array<uint8_t, 8> encode_value(int64_t value);

// The whole handshake (steps 1 to 5) for a client `client_id` on a server whose only other
// peer is `peer_id`: QEMU learns the shared memory, how to interrupt that peer (peer_vectors,
// step 4) and which eventfds interrupt it (client_vectors, step 5). Vector v is index v.
std::vector<Message> handshake(int64_t client_id, int shared_memory_fd, int64_t peer_id,
                               std::span<const int> peer_vectors, std::span<const int> client_vectors);

// Sends one message. False on any error, a short send included (the caller drops the client).
[[nodiscard]] bool send_message(int socket, const Message& message);

}  // namespace vgpud::ivshmem
