#include "vgpud/transport/listen_socket.h"

#include <fcntl.h>
#include <grp.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <cerrno>
#include <cstring>

namespace vgpud {

namespace {

// The pid the lock's holder wrote into it; empty when it has not (yet) written one.
std::string holder_pid(int lock_fd) {
  char buf[16] = {};
  const ssize_t n = pread(lock_fd, buf, sizeof buf - 1, 0);
  std::string pid;
  for (ssize_t i = 0; i < n && buf[i] >= '0' && buf[i] <= '9'; ++i) pid += buf[i];
  return pid;
}

// Takes `<path>.lock` for this process, or says who has it.
vgpu::Result<UniqueFd, std::string> lock_socket_path(const std::string& path) {
  const std::string lock_path = path + ".lock";
  UniqueFd fd(open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644));
  if (!fd.valid())
    return vgpu::Err{"cannot create socket " + path + " (its lock file " + lock_path + ": " +
                     std::strerror(errno) + ")"};
  if (flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK)
      return vgpu::Err{"cannot lock " + lock_path + ": " + std::strerror(errno)};
    const std::string pid = holder_pid(fd.get());
    return vgpu::Err{"another vgpud" + (pid.empty() ? std::string() : " (pid " + pid + ")") +
                     " is serving " + path + ": stop it first, or give this configuration other sockets"};
  }
  // For the sentence a second vgpud prints; the lock, not this number, is what excludes it.
  const std::string pid = std::to_string(getpid()) + "\n";
  if (ftruncate(fd.get(), 0) != 0 ||
      pwrite(fd.get(), pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size()))
    return vgpu::Err{"cannot write " + lock_path + ": " + std::strerror(errno)};
  return fd;
}

}  // namespace

ListeningSocket& ListeningSocket::operator=(ListeningSocket&& o) noexcept {
  if (this != &o) {
    reset();
    fd_ = std::move(o.fd_);
    lock_ = std::move(o.lock_);
    path_ = std::move(o.path_);
    dev_ = o.dev_;
    ino_ = o.ino_;
  }
  return *this;
}

void ListeningSocket::reset() {
  if (fd_.valid()) {
    struct stat st{};
    if (lstat(path_.c_str(), &st) == 0 && st.st_dev == dev_ && st.st_ino == ino_) unlink(path_.c_str());
  }
  fd_.reset();
  lock_.reset();
}

vgpu::Result<ListeningSocket, std::string> listen_unix_socket(const ListenSocketOptions& options) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const std::string temp = options.path + ".new";
  if (temp.size() >= sizeof addr.sun_path) return vgpu::Err{"socket path " + options.path + " is too long"};
  std::memcpy(addr.sun_path, temp.c_str(), temp.size() + 1);
  // Nothing at the path, not even the temporary name, is touched before the lock is ours.
  auto lock = lock_socket_path(options.path);
  if (!lock) return vgpu::Err{lock.error()};
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
  struct stat bound{};
  if (lstat(temp.c_str(), &bound) != 0) return fail("cannot create socket " + options.path);
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
  return ListeningSocket(std::move(fd), std::move(lock).value(), options.path, bound.st_dev, bound.st_ino);
}

}  // namespace vgpud
