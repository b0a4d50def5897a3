#include <sys/stat.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <optional>

#include "guest/transport/local_transport.h"
#include "guest/transport/pci_transport.h"

namespace vgpu::guest {

namespace {

constexpr const char* kDefaultSocket = "/run/vgpu/default.sock";

std::string socket_path() {
  const char* socket = std::getenv("VGPU_SOCKET");
  return socket != nullptr && *socket != '\0' ? socket : kDefaultSocket;
}

// VGPU_CONNECT_TIMEOUT_MS, or the default; nullopt when it is set to anything but a
// number of milliseconds from 1 to an hour.
std::optional<std::chrono::milliseconds> connect_timeout() {
  const char* v = std::getenv("VGPU_CONNECT_TIMEOUT_MS");
  if (v == nullptr || *v == '\0') return kDefaultConnectTimeout;
  char* end = nullptr;
  errno = 0;
  const long ms = std::strtol(v, &end, 10);
  if (errno != 0 || *end != '\0' || ms < 1 || ms > 3'600'000) return std::nullopt;
  return std::chrono::milliseconds(ms);
}

Result<std::unique_ptr<Transport>, ConnectFailure> connect_socket(const std::string& path) {
  const auto timeout = connect_timeout();
  if (!timeout) {
    const std::string value = std::getenv("VGPU_CONNECT_TIMEOUT_MS");
    return Err{ConnectFailure{ConnectError::NoEndpoint,
                              "VGPU_CONNECT_TIMEOUT_MS=" + value +
                                  " is not a number of milliseconds from 1 to 3600000: fix it or unset it"}};
  }
  return connect_local(path, *timeout);
}

bool path_missing(const std::string& path) {
  struct stat st{};
  return stat(path.c_str(), &st) != 0 && errno == ENOENT;
}

}  // namespace

Result<std::unique_ptr<Transport>, ConnectFailure> connect_transport() {
  const char* forced_env = std::getenv("VGPU_TRANSPORT");
  const std::string forced = forced_env != nullptr ? forced_env : "";
  if (forced == "local") return connect_socket(socket_path());
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
  return connect_socket(path);
}

}  // namespace vgpu::guest
