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
  // Sealed at its size: QEMU (or anyone it passes the descriptor to) cannot shrink the memory
  // under vgpud's mapping, which would turn vgpud's next access into SIGBUS.
  UniqueFd memory_fd(memfd_create(("vgpu-vm-" + options_.name).c_str(), MFD_CLOEXEC | MFD_ALLOW_SEALING));
  bool ok = memory_fd.valid() && ftruncate(memory_fd.get(), static_cast<off_t>(options_.memory_size)) == 0 &&
            fcntl(memory_fd.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) == 0;
  void* base = ok ? mmap(nullptr, options_.memory_size, PROT_READ | PROT_WRITE, MAP_SHARED, memory_fd.get(), 0)
                  : MAP_FAILED;
  if (base == MAP_FAILED) {
    log::transport().error("vm={}: cannot create the VM's shared region ({}); QEMU is refused", options_.name,
                           errno_text("memfd").c_str());
    return false;
  }
  prepare(static_cast<uint8_t*>(base));

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
    for (const Message& m : handshake(kVmPeerId, memory_fd.get(), kVgpudPeerId, peer, own))
      if (!(ok = send_message(conn.get(), m))) break;
  }
  if (!ok) {
    munmap(base, options_.memory_size);
    log::transport().error("vm={}: the ivshmem handshake with QEMU failed ({}); QEMU is refused", options_.name,
                           errno_text(step).c_str());
    return false;
  }
  client_ = std::move(conn);
  memory_fd_ = std::move(memory_fd);
  memory_ = static_cast<uint8_t*>(base);
  vgpud_vectors_ = std::move(vgpud_vectors);
  vm_vectors_ = std::move(vm_vectors);
  return true;
}

void IvshmemServer::disconnect() {
  if (!connected()) return;
  munmap(memory_, options_.memory_size);
  memory_ = nullptr;
  client_.reset();
  memory_fd_.reset();
  vgpud_vectors_.clear();
  vm_vectors_.clear();
}

}  // namespace vgpud::ivshmem
