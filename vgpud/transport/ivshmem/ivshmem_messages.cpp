#include "vgpud/transport/ivshmem/ivshmem_messages.h"

#include <span>

#include "vgpu/common/fd_passing.h"

namespace vgpud::ivshmem {

std::array<uint8_t, 8> encode_value(int64_t value) {
  const auto bits = static_cast<uint64_t>(value);
  std::array<uint8_t, 8> bytes;
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<uint8_t>(bits >> (8 * i));
  return bytes;
}

std::vector<Message> handshake(int64_t client_id, int shared_memory_fd, int64_t peer_id,
                               std::span<const int> peer_vectors, std::span<const int> client_vectors) {
  std::vector<Message> messages = {{kProtocolVersion}, {client_id}, {kSharedMemoryMessage, shared_memory_fd}};
  for (int fd : peer_vectors) messages.push_back({peer_id, fd});
  for (int fd : client_vectors) messages.push_back({client_id, fd});
  return messages;
}

bool send_message(int socket, const Message& message) {
  const std::array<uint8_t, 8> bytes = encode_value(message.value);
  const std::span<const int> fds(&message.fd, message.fd >= 0 ? 1 : 0);
  return vgpu::send_with_fds(socket, bytes.data(), bytes.size(), fds);
}

}  // namespace vgpud::ivshmem
