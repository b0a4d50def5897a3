// A stand-in for QEMU's ivshmem-doorbell device, for tests that drive vgpud's ivshmem server
// (vgpud/transport/ivshmem/) without QEMU: it connects to the VM's socket as QEMU does,
// receives the region and the doorbell eventfds, and plays guest processes on the slot table
// (docs/protocol.md §7).
#pragma once
#include <catch2/catch.hpp>

#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "vgpu/common/fd_passing.h"
#include "vgpu/protocol/vm_layout.h"

namespace vgpu::test {

// What QEMU receives from the server, in order.
struct FakeQemu {
  int socket = -1;
  int64_t own_id = -1;
  int region_fd = -1;
  std::vector<std::pair<int64_t, int>> peer_vectors;  // (peer id, eventfd) in arrival order
  uint8_t* region = nullptr;
  size_t region_size = 0;

  ~FakeQemu() {
    if (region != nullptr) munmap(region, region_size);
    for (auto& [id, fd] : peer_vectors) close(fd);
    if (region_fd >= 0) close(region_fd);
    if (socket >= 0) close(socket);
  }
  proto::VmHeader& header() const { return *reinterpret_cast<proto::VmHeader*>(region); }
  proto::SlotControl& slot(uint32_t i) const { return header().slots[i]; }
  // The eventfd of vgpud's vector v (the peer that is not us).
  int vgpud_vector(uint32_t v) const {
    uint32_t seen = 0;
    for (auto& [id, fd] : peer_vectors)
      if (id != own_id && seen++ == v) return fd;
    return -1;
  }
  bool ring(uint32_t vector) const {
    const uint64_t one = 1;
    return write(vgpud_vector(vector), &one, sizeof one) == sizeof one;
  }
};

inline bool receive_message(int socket, int64_t* value, int* fd) {
  size_t count = 0;
  *fd = -1;
  return vgpu::recv_with_fds(socket, value, sizeof *value, std::span<int>(fd, 1), &count, MSG_WAITALL) ==
         sizeof *value;
}

inline void connect_qemu(FakeQemu& q, const std::string& path, uint32_t vectors) {
  q.socket = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  REQUIRE(connect(q.socket, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  int64_t value;
  int fd;
  REQUIRE(receive_message(q.socket, &value, &fd));
  CHECK(value == 0);  // protocol version
  CHECK(fd == -1);
  REQUIRE(receive_message(q.socket, &q.own_id, &fd));
  CHECK(fd == -1);
  REQUIRE(receive_message(q.socket, &value, &q.region_fd));
  CHECK(value == -1);
  REQUIRE(q.region_fd >= 0);
  for (uint32_t i = 0; i < 2 * vectors; ++i) {
    REQUIRE(receive_message(q.socket, &value, &fd));
    REQUIRE(fd >= 0);
    q.peer_vectors.push_back({value, fd});
  }
  q.region_size = static_cast<size_t>(lseek(q.region_fd, 0, SEEK_END));
  void* p = mmap(nullptr, q.region_size, PROT_READ | PROT_WRITE, MAP_SHARED, q.region_fd, 0);
  REQUIRE(p != MAP_FAILED);
  q.region = static_cast<uint8_t*>(p);
}

inline proto::SlotState state_of(const FakeQemu& q, uint32_t i) {
  return static_cast<proto::SlotState>(q.slot(i).state.load());
}

inline void claim(FakeQemu& q, uint32_t i, uint32_t pid) {
  uint32_t expected = static_cast<uint32_t>(proto::SlotState::Free);
  REQUIRE(q.slot(i).state.compare_exchange_strong(expected, static_cast<uint32_t>(proto::SlotState::Claimed)));
  q.slot(i).guest_pid = pid;
  REQUIRE(q.ring(proto::kVmControlVector));
}

}  // namespace vgpu::test
