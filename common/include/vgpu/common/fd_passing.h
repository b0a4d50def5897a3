// Sending bytes and file descriptors together over a UNIX socket (SCM_RIGHTS), as vgpud hands
// a local client its channel (region, doorbell, notify) and QEMU its VM's memory and vectors.
#pragma once
#include <sys/socket.h>

#include <cstring>
#include <span>

namespace vgpu {

// The most descriptors one message carries here (the local handshake passes three).
inline constexpr size_t kMaxPassedFds = 4;

// Sends `size` bytes of `data` with `fds` (none, or up to kMaxPassedFds) in one message.
// True when every byte went; `flags` as for sendmsg (MSG_NOSIGNAL always added).
[[nodiscard]] inline bool send_with_fds(int socket, const void* data, size_t size,
                                        std::span<const int> fds, int flags = 0) {
  if (fds.size() > kMaxPassedFds) return false;
  iovec iov{const_cast<void*>(data), size};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxPassedFds)] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  if (!fds.empty()) {
    msg.msg_control = control;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
  }
  return sendmsg(socket, &msg, flags | MSG_NOSIGNAL) == static_cast<ssize_t>(size);
}

}  // namespace vgpu
