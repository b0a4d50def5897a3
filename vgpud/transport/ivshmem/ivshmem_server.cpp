#include "vgpud/transport/ivshmem/ivshmem_server.h"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "vgpu/common/errno_text.h"
#include "vgpud/log/log.h"
#include "vgpud/transport/ivshmem/ivshmem_messages.h"

namespace vgpud::ivshmem {

using vgpu::errno_text;

// IDs fit the Doorbell register's 16 bits, and the client's is not the peer's.
static_assert(kVgpudPeerId >= 0 && kVgpudPeerId <= kMaxPeerId && kVmPeerId >= 0 && kVmPeerId <= kMaxPeerId);
static_assert(kVgpudPeerId != kVmPeerId);

namespace {

std::vector<int> raw(const std::vector<UniqueFd>& fds) {
  std::vector<int> out;
  for (const UniqueFd& fd : fds) out.push_back(fd.get());
  return out;
}

}  // namespace

vgpu::Result<std::unique_ptr<IvshmemServer>, std::string> IvshmemServer::listen(IvshmemServerOptions options) {
  auto socket = listen_unix_socket(options.socket);
  if (!socket) return vgpu::Err{socket.error()};
  return std::unique_ptr<IvshmemServer>(new IvshmemServer(std::move(options), std::move(socket).value()));
}

IvshmemServer::~IvshmemServer() { disconnect(); }

bool IvshmemServer::accept(const std::function<void(uint8_t* memory)>& prepare) {
  UniqueFd conn(accept4(socket_.fd(), nullptr, nullptr, SOCK_CLOEXEC));
  if (!conn.valid()) return false;
  if (connected()) {
    log::transport().warn("vm={}: a second QEMU connected to the VM's socket; refused (one VM per socket)",
                          options_.name);
    return false;
  }
  // Sealed at its size (shared_memory.h): QEMU, or anyone it passes the descriptor to, cannot
  // shrink it under vgpud's mapping.
  auto memory = SharedMemory::create("vgpu-vm-" + options_.name, options_.memory_size);
  if (!memory) {
    log::transport().error("vm={}: cannot create the VM's shared region ({}); QEMU is refused", options_.name,
                           memory.error());
    return false;
  }
  prepare(memory->base());
  bool ok = true;

  std::vector<UniqueFd> vgpud_vectors, vm_vectors;
  for (uint32_t v = 0; ok && v < options_.vectors; ++v) {
    vgpud_vectors.emplace_back(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    vm_vectors.emplace_back(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    ok = vgpud_vectors.back().valid() && vm_vectors.back().valid();
  }
  const char* step = "eventfd";
  if (ok) {
    step = "send";
    // QEMU reads the handshake as it comes; a QEMU that stops reading must not stall vgpud.
    timeval timeout{2, 0};
    setsockopt(conn.get(), SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    const std::vector<int> peer = raw(vgpud_vectors), own = raw(vm_vectors);
    for (const Message& m : handshake(kVmPeerId, memory->fd(), kVgpudPeerId, peer, own))
      if (!(ok = send_message(conn.get(), m))) break;
  }
  if (!ok) {
    log::transport().error("vm={}: the ivshmem handshake with QEMU failed ({}); QEMU is refused", options_.name,
                           errno_text(step).c_str());
    return false;
  }
  client_ = std::move(conn);
  memory_ = std::move(memory).value();
  vgpud_vectors_ = std::move(vgpud_vectors);
  vm_vectors_ = std::move(vm_vectors);
  return true;
}

void IvshmemServer::disconnect() {
  if (!connected()) return;
  memory_.reset();
  client_.reset();
  vgpud_vectors_.clear();
  vm_vectors_.clear();
}

}  // namespace vgpud::ivshmem
