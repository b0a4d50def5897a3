#include "vgpud/transport/ivshmem/ivshmem_messages.h"

#include <sys/socket.h>

#include <cstring>

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
  std::array<uint8_t, 8> bytes = encode_value(message.value);
  iovec iov{bytes.data(), bytes.size()};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  if (message.fd >= 0) {
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &message.fd, sizeof(int));
  }
  return sendmsg(socket, &msg, MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size());
}

}  // namespace vgpud::ivshmem
