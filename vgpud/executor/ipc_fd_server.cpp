#include "vgpud/executor/ipc_fd_server.h"

#include <fmt/format.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>

namespace vgpud {

namespace {

constexpr uint32_t kRequestMagic = 0x56495046;  // "VIPF"
// How long either end waits for the other: workers answer at once, so only a stuck or hostile
// peer takes this long, and the exporter serves the next one after it.
constexpr int kPeerTimeoutMs = 1000;

struct Request {
  uint32_t magic = kRequestMagic;
  uint32_t slot = 0;  // the asking worker's
  IpcToken token;
};
struct Answer {
  int32_t status = 0;  // 0 (the descriptor comes with it), or an errno value
  uint32_t reserved = 0;
};

std::string errno_text(const char* what) { return fmt::format("{}: {}", what, std::strerror(errno)); }

sockaddr_un address_of(uint64_t nonce, uint32_t slot, socklen_t* length) {
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  const std::string name = ipc_socket_name(nonce, slot);
  std::memcpy(a.sun_path + 1, name.data(), name.size());  // abstract: a leading NUL
  *length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
  return a;
}

void set_timeouts(int fd) {
  const timeval t{kPeerTimeoutMs / 1000, (kPeerTimeoutMs % 1000) * 1000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &t, sizeof t);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &t, sizeof t);
}

// The pid of the process at the other end, by the kernel's word; 0 when unknown.
pid_t peer_pid(int fd) {
  ucred cred{};
  socklen_t len = sizeof cred;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return 0;
  return cred.pid;
}

bool is_worker_of_tenant(const IpcTable& table, pid_t pid) {
  if (pid <= 0) return false;
  for (uint32_t slot = 0; slot < kIpcWorkerSlots; ++slot)
    if (table.worker_pid(slot) == pid) return true;
  return false;
}

}  // namespace

std::string ipc_socket_name(uint64_t nonce, uint32_t slot) { return fmt::format("vgpud-ipc-{:016x}-{}", nonce, slot); }

std::unique_ptr<IpcFdServer> IpcFdServer::start(const IpcTable& table, uint32_t slot, std::string* why) {
  UniqueFd listening(socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
  UniqueFd stop(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!listening.valid() || !stop.valid()) {
    *why = errno_text("the IPC socket");
    return nullptr;
  }
  socklen_t length = 0;
  const sockaddr_un a = address_of(table.nonce(), slot, &length);
  if (bind(listening.get(), reinterpret_cast<const sockaddr*>(&a), length) != 0 || listen(listening.get(), 16) != 0) {
    *why = errno_text(("binding the IPC socket @" + ipc_socket_name(table.nonce(), slot)).c_str());
    return nullptr;
  }
  return std::unique_ptr<IpcFdServer>(new IpcFdServer(table, std::move(listening), std::move(stop)));
}

IpcFdServer::IpcFdServer(const IpcTable& table, UniqueFd listening, UniqueFd stop)
    : table_(table), listening_(std::move(listening)), stop_(std::move(stop)),
      thread_([this] { serve(); }) {}

IpcFdServer::~IpcFdServer() {
  const uint64_t one = 1;
  [[maybe_unused]] ssize_t n = write(stop_.get(), &one, sizeof one);
  thread_.join();
}

void IpcFdServer::offer(const IpcToken& token, UniqueFd fd) {
  std::lock_guard lock(mutex_);
  fds_[{token.lo, token.hi}] = std::move(fd);
}

void IpcFdServer::withdraw(const IpcToken& token) {
  std::lock_guard lock(mutex_);
  fds_.erase({token.lo, token.hi});
}

int IpcFdServer::duplicate(const IpcToken& token) const {
  std::lock_guard lock(mutex_);
  auto it = fds_.find({token.lo, token.hi});
  return it == fds_.end() ? -1 : fcntl(it->second.get(), F_DUPFD_CLOEXEC, 0);
}

void IpcFdServer::serve() {
  pollfd fds[2] = {{listening_.get(), POLLIN, 0}, {stop_.get(), POLLIN, 0}};
  for (;;) {
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents != 0) return;
    UniqueFd connection(accept4(listening_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (connection.valid()) answer(connection.get());
  }
}

void IpcFdServer::answer(int connection) {
  // Strangers are dropped before anything is read from them.
  const pid_t pid = peer_pid(connection);
  if (!is_worker_of_tenant(table_, pid)) return;
  set_timeouts(connection);
  Request request;
  if (recv(connection, &request, sizeof request, 0) != static_cast<ssize_t>(sizeof request) ||
      request.magic != kRequestMagic)
    return;
  Answer answer;
  UniqueFd copy;
  if (request.slot >= kIpcWorkerSlots || table_.worker_pid(request.slot) != pid) {
    answer.status = EPERM;
  } else {
    copy = UniqueFd(duplicate(request.token));
    if (!copy.valid()) answer.status = ENOENT;
  }
  iovec io{&answer, sizeof answer};
  msghdr m{};
  m.msg_iov = &io;
  m.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  if (copy.valid()) {
    m.msg_control = control;
    m.msg_controllen = sizeof control;
    cmsghdr* c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    const int fd = copy.get();
    std::memcpy(CMSG_DATA(c), &fd, sizeof fd);
  }
  [[maybe_unused]] ssize_t n = sendmsg(connection, &m, MSG_NOSIGNAL);
}

int fetch_ipc_fd(const IpcTable& table, uint32_t exporter_slot, uint32_t my_slot, const IpcToken& token,
                 std::string* why) {
  const pid_t exporter = table.worker_pid(exporter_slot);
  if (exporter <= 0) {
    *why = "the exporting worker is gone";
    return -1;
  }
  UniqueFd s(socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
  if (!s.valid()) {
    *why = errno_text("the IPC socket");
    return -1;
  }
  set_timeouts(s.get());
  socklen_t length = 0;
  const sockaddr_un a = address_of(table.nonce(), exporter_slot, &length);
  if (connect(s.get(), reinterpret_cast<const sockaddr*>(&a), length) != 0) {
    *why = errno_text("connecting to the exporting worker");
    return -1;
  }
  if (peer_pid(s.get()) != exporter) {
    *why = fmt::format("the IPC socket of slot {} is not its worker's (pid {})", exporter_slot, exporter);
    return -1;
  }
  const Request request{kRequestMagic, my_slot, token};
  if (send(s.get(), &request, sizeof request, MSG_NOSIGNAL) != static_cast<ssize_t>(sizeof request)) {
    *why = errno_text("asking the exporting worker");
    return -1;
  }
  Answer answer;
  iovec io{&answer, sizeof answer};
  msghdr m{};
  m.msg_iov = &io;
  m.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  m.msg_control = control;
  m.msg_controllen = sizeof control;
  const ssize_t n = recvmsg(s.get(), &m, MSG_CMSG_CLOEXEC);
  int fd = -1;
  for (cmsghdr* c = CMSG_FIRSTHDR(&m); n > 0 && c != nullptr; c = CMSG_NXTHDR(&m, c))
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS && c->cmsg_len == CMSG_LEN(sizeof(int)))
      std::memcpy(&fd, CMSG_DATA(c), sizeof fd);
  if (n != static_cast<ssize_t>(sizeof answer) || answer.status != 0 || fd < 0 || (m.msg_flags & MSG_CTRUNC) != 0) {
    if (fd >= 0) close(fd);
    *why = n < 0 ? errno_text("the exporting worker's answer")
                 : fmt::format("the exporting worker refused ({})", std::strerror(answer.status != 0 ? answer.status : EPROTO));
    return -1;
  }
  return fd;
}

}  // namespace vgpud
