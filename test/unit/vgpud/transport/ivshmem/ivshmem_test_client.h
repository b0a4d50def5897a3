// Plays QEMU on an ivshmem server's socket for the unit tests of vgpud/transport/ivshmem/:
// connects, reads the handshake's messages with their descriptors, and pokes eventfds.
// (test/integration/fake_qemu.h does the same against a whole vgpud.)
#pragma once
#include <catch2/catch.hpp>

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <utility>
#include <span>
#include <vector>

#include "vgpu/common/fd_passing.h"

namespace vgpud::ivshmem::test {

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/vgpu-ivshmem-XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

// QEMU's side of one connection: what the server sent, in order.
struct IvshmemClient {
  int socket = -1;
  std::vector<std::pair<int64_t, int>> messages;  // (value, descriptor or -1)

  explicit IvshmemClient(const std::string& path) {
    socket = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    REQUIRE(connect(socket, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  }
  ~IvshmemClient() {
    for (auto& [value, fd] : messages)
      if (fd >= 0) close(fd);
    hang_up();
  }
  IvshmemClient(const IvshmemClient&) = delete;
  IvshmemClient& operator=(const IvshmemClient&) = delete;

  // Reads `count` messages (the server has sent them all by the time its accept() returns).
  void receive(size_t count) {
    for (size_t i = 0; i < count; ++i) {
      int64_t value;
      int fd = -1;
      size_t count = 0;
      REQUIRE(vgpu::recv_with_fds(socket, &value, sizeof value, std::span<int>(&fd, 1), &count, MSG_WAITALL) ==
              sizeof value);
      messages.push_back({value, fd});
    }
  }
  // True when the server closed its end (and sent nothing more).
  bool closed_by_server() const {
    pollfd p{socket, POLLIN, 0};
    if (poll(&p, 1, 1000) != 1) return false;
    char byte;
    return recv(socket, &byte, 1, MSG_DONTWAIT) == 0;
  }
  // QEMU goes away (the VM stopped).
  void hang_up() {
    if (socket >= 0) close(socket);
    socket = -1;
  }
};

inline bool readable(int fd) {
  pollfd p{fd, POLLIN, 0};
  return poll(&p, 1, 1000) == 1 && (p.revents & POLLIN) != 0;
}

// An eventfd's count, taken (0 when there was none).
inline uint64_t take_count(int eventfd) {
  uint64_t n = 0;
  return read(eventfd, &n, sizeof n) == sizeof n ? n : 0;
}

inline bool signal_eventfd(int eventfd) {
  const uint64_t one = 1;
  return write(eventfd, &one, sizeof one) == sizeof one;
}

}  // namespace vgpud::ivshmem::test
