// vgpud's ivshmem server for one VM (QEMU's docs/specs/ivshmem-spec.rst, "The ivshmem
// server"): the UNIX socket that the VM's ivshmem-doorbell device connects to through its
// chardev, and, for each connection, the shared memory and the eventfds handed to QEMU in the
// handshake (ivshmem_messages.h). The guest sees the device as its vgpu-stub.
//
// vgpud does not connect to itself as a client: it plays the one other peer on the server.
//
//   peer ID  who            its vectors (one eventfd each, vectors = the device's `vectors`)
//   0        vgpud          vgpud_vector(v): the guest's Doorbell write (0 << 16) | v wakes it
//   1        the VM (QEMU)  vm_vector(v): writing it interrupts the guest on vector v
//
// One client at a time: while QEMU is connected, a second connection is closed at once. Each
// connection gets fresh shared memory and fresh eventfds, so a VM that comes back starts with
// nothing the previous one left. What the memory holds is the caller's business (`prepare`,
// vm_endpoint.h): this file knows nothing of slots.
//
// The connection is one-way (server to client): QEMU never sends anything, so client_fd()
// turning readable means QEMU went away.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "vgpu/common/result.h"
#include "vgpud/transport/listen_socket.h"
#include "vgpud/transport/shared_memory.h"
#include "vgpud/transport/unique_fd.h"

namespace vgpud::ivshmem {

inline constexpr int64_t kVgpudPeerId = 0;
inline constexpr int64_t kVmPeerId = 1;

struct IvshmemServerOptions {
  ListenSocketOptions socket;
  std::string name;          // the tenant: names the memfd ("vgpu-vm-<name>") and log lines
  uint64_t memory_size = 0;  // the shared memory, which the device maps as BAR2
  uint32_t vectors = 0;      // of each peer; the device's `vectors` option
};

class IvshmemServer {
 public:
  static vgpu::Result<std::unique_ptr<IvshmemServer>, std::string> listen(IvshmemServerOptions options);
  ~IvshmemServer();
  IvshmemServer(const IvshmemServer&) = delete;
  IvshmemServer& operator=(const IvshmemServer&) = delete;

  // Readable: a QEMU is waiting; call accept().
  int listen_fd() const { return socket_.fd(); }
  // QEMU's connection, -1 while none. Readable: QEMU went away; call disconnect().
  int client_fd() const { return client_.get(); }
  bool connected() const { return client_.valid(); }
  const std::string& socket_path() const { return options_.socket.path; }

  // Takes the QEMU waiting on the socket: creates its shared memory, lets `prepare` write the
  // memory's first contents (before QEMU, and so the guest, can see it), creates the vectors
  // and runs the handshake. False when no client was taken: none waiting, one already
  // connected, or a failure (logged, and the connection closed).
  bool accept(const std::function<void(uint8_t* memory)>& prepare);
  // Drops QEMU: unmaps the memory and closes this side's descriptors. Processes that hold their
  // own descriptors (channel workers) keep their mappings. Nothing happens while not connected.
  void disconnect();

  // While connected:
  uint8_t* memory() const { return memory_ ? memory_->base() : nullptr; }
  int memory_fd() const { return memory_ ? memory_->fd() : -1; }
  int vgpud_vector(uint32_t v) const { return vgpud_vectors_[v].get(); }
  int vm_vector(uint32_t v) const { return vm_vectors_[v].get(); }

 private:
  IvshmemServer(IvshmemServerOptions options, ListeningSocket socket)
      : options_(std::move(options)), socket_(std::move(socket)) {}

  IvshmemServerOptions options_;
  // Declared before the connection's members, so it is destroyed after them: the socket file
  // is removed (if it is still ours) once QEMU has been dropped.
  ListeningSocket socket_;

  UniqueFd client_;
  std::optional<SharedMemory> memory_;
  std::vector<UniqueFd> vgpud_vectors_;
  std::vector<UniqueFd> vm_vectors_;
};

}  // namespace vgpud::ivshmem
