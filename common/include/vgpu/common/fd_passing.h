// Sending bytes and file descriptors together over a UNIX socket (SCM_RIGHTS), as vgpud hands
// a local client its channel (region, doorbell, notify) and QEMU its VM's memory and vectors.
#pragma once
#include <sys/socket.h>
#include <unistd.h>

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

// Receives up to `size` bytes with up to fds.size() descriptors (close-on-exec) in one message;
// descriptors beyond that are closed. *fd_count says how many arrived. Returns what recvmsg
// returned; `flags` as for recvmsg (MSG_WAITALL to wait for all `size` bytes).
[[nodiscard]] inline ssize_t recv_with_fds(int socket, void* data, size_t size, std::span<int> fds,
                                           size_t* fd_count, int flags = 0) {
  iovec iov{data, size};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxPassedFds)];
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  *fd_count = 0;
  const ssize_t n = recvmsg(socket, &msg, flags | MSG_CMSG_CLOEXEC);
  if (n < 0) return n;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    const size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; ++i) {
      int received;
      std::memcpy(&received, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
      if (*fd_count < fds.size())
        fds[(*fd_count)++] = received;
      else
        close(received);
    }
  }
  return n;
}

}  // namespace vgpu
