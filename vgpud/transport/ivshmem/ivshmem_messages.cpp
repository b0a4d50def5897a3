#include "qemu-plugin/ivshmem_messages.h"

#include <sys/socket.h>

#include <cstring>

namespace vgpud::stub {

bool send_ivshmem_message(int socket, int64_t value, int attached_fd) {
  iovec iov{&value, sizeof value};  // x86-64 and arm64 hosts are little-endian, as QEMU expects
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  if (attached_fd >= 0) {
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &attached_fd, sizeof(int));
  }
  return sendmsg(socket, &msg, MSG_NOSIGNAL) == static_cast<ssize_t>(sizeof value);
}

}  // namespace vgpud::stub
