#include "vgpud/transport/listen_socket.h"

#include <grp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <cerrno>
#include <cstring>

namespace vgpud {

vgpu::Result<UniqueFd, std::string> listen_unix_socket(const ListenSocketOptions& options) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const std::string temp = options.path + ".new";
  if (temp.size() >= sizeof addr.sun_path) return vgpu::Err{"socket path " + options.path + " is too long"};
  std::memcpy(addr.sun_path, temp.c_str(), temp.size() + 1);
  auto fail = [&](const std::string& what) {
    const std::string text = what + ": " + std::strerror(errno);
    unlink(temp.c_str());
    return vgpu::Err{text};
  };

  UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd.valid()) return fail("socket");
  unlink(temp.c_str());
  if (bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    return fail("cannot create socket " + options.path);
  if (!options.group.empty()) {
    group* g = getgrnam(options.group.c_str());
    if (g == nullptr) {
      unlink(temp.c_str());
      return vgpu::Err{"group '" + options.group + "' for socket " + options.path +
                       " does not exist: create it (groupadd " + options.group +
                       ") or remove 'group' from " + options.owner_hint};
    }
    if (chown(temp.c_str(), static_cast<uid_t>(-1), g->gr_gid) != 0) return fail("chown " + options.path);
  }
  if (chmod(temp.c_str(), options.mode) != 0) return fail("chmod " + options.path);
  if (::listen(fd.get(), 64) != 0) return fail("listen");
  if (rename(temp.c_str(), options.path.c_str()) != 0) return fail("cannot create socket " + options.path);
  return fd;
}

}  // namespace vgpud
