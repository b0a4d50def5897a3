#include "vgpud/core/commands.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "vgpud/transport/ivshmem/vm_endpoint.h"
#include "vgpud/transport/unique_fd.h"

namespace vgpud {

int print_qemu_args(const config::DaemonConfig& config, const std::string& tenant) {
  for (const config::TenantConfig& t : config.tenants) {
    if (t.name != tenant) continue;
    if (t.vm.socket_path.empty()) {
      std::fprintf(stderr, "vgpud: tenant '%s' in %s has no vm section: add one to serve a VM\n",
                   tenant.c_str(), config.source_file.c_str());
      return 1;
    }
    std::printf("%s\n", ivshmem::VmEndpoint::qemu_args(t.name, t.vm).c_str());
    return 0;
  }
  std::fprintf(stderr, "vgpud: %s has no tenant named '%s'\n", config.source_file.c_str(), tenant.c_str());
  return 1;
}

int print_counters(const config::DaemonConfig& config) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const std::string& path = config.control_socket;
  if (path.size() >= sizeof addr.sun_path) return 1;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid() || connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    std::fprintf(stderr, "vgpud: cannot reach a running vgpud at %s (%s): is it running, and may this user open the socket?\n",
                 path.c_str(), std::strerror(errno));
    return 1;
  }
  char buf[4096];
  ssize_t n;
  while ((n = read(fd.get(), buf, sizeof buf)) > 0) fwrite(buf, 1, static_cast<size_t>(n), stdout);
  return n == 0 ? 0 : 1;
}

}  // namespace vgpud
