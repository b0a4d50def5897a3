#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "guest/transport/local_transport.h"
#include "guest/transport/pci_transport.h"

namespace vgpu::guest {

namespace {

constexpr const char* kDefaultSocket = "/run/vgpu/default.sock";

std::string socket_path() {
  const char* socket = std::getenv("VGPU_SOCKET");
  return socket != nullptr && *socket != '\0' ? socket : kDefaultSocket;
}

bool path_missing(const std::string& path) {
  struct stat st{};
  return stat(path.c_str(), &st) != 0 && errno == ENOENT;
}

}  // namespace

Result<std::unique_ptr<Transport>, ConnectFailure> connect_transport() {
  const char* forced_env = std::getenv("VGPU_TRANSPORT");
  const std::string forced = forced_env != nullptr ? forced_env : "";
  if (forced == "local") return connect_local(socket_path());
  if (forced == "pci") return connect_pci(pci_options_from_env());
  if (!forced.empty())
    return Err{ConnectFailure{ConnectError::NoEndpoint,
                              "VGPU_TRANSPORT=" + forced + " is not a transport: use 'local' or "
                                                           "'pci', or leave it unset"}};

  // Automatic: a VM has the stub; a host process or container has the socket. Any failure of
  // a stub that is there (permissions, vgpud refusing) is the one worth reporting.
  auto pci = connect_pci(pci_options_from_env());
  if (pci || pci.error().code != ConnectError::NoEndpoint) return pci;
  const std::string path = socket_path();
  if (path_missing(path))
    return Err{ConnectFailure{
        ConnectError::NoEndpoint,
        "no vgpu-stub PCI device (1af4:1110) and no vgpud socket at " + path +
            ": in a VM, start it with the options `vgpud qemu-args VM` prints; on the host, "
            "start vgpud or set VGPU_SOCKET to your tenant's socket"}};
  return connect_local(path);
}

}  // namespace vgpu::guest
