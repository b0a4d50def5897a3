// QEMU's ivshmem server protocol, server side (QEMU's docs/specs/ivshmem-spec.rst): every
// message is one little-endian int64, optionally with one descriptor attached (SCM_RIGHTS).
// On connect the server sends, in order: the protocol version (0); the client's own peer id;
// -1 with the shared memory; then, for each peer, its id once per vector with that vector's
// eventfd attached. A peer id without a descriptor later means "that peer is gone".
#pragma once
#include <cstdint>

namespace vgpud::stub {

inline constexpr int64_t kIvshmemProtocolVersion = 0;

// Sends one message; attached_fd < 0 sends none. False on any error (the caller drops QEMU).
[[nodiscard]] bool send_ivshmem_message(int socket, int64_t value, int attached_fd = -1);

}  // namespace vgpud::stub
