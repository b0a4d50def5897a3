#include "guest/transport/local_transport.h"

#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "vgpu/common/fd_passing.h"
#include "vgpu/protocol/handshake.h"
#include "vgpu/protocol/version.h"

namespace vgpu::guest {

namespace {

ConnectFailure failure(ConnectError code, std::string message) {
  return ConnectFailure{code, std::move(message)};
}

class LocalTransport final : public Transport {
 public:
  LocalTransport(int socket_fd, int region_fd, int doorbell_fd, int notify_fd, uint8_t* base,
                 size_t size, std::string path)
      : socket_fd_(socket_fd), region_fd_(region_fd), doorbell_fd_(doorbell_fd), notify_fd_(notify_fd),
        base_(base), size_(size), path_(std::move(path)) {}

  ~LocalTransport() override {
    munmap(base_, size_);
    close(region_fd_);
    close(doorbell_fd_);
    close(notify_fd_);
    close(socket_fd_);
  }

  std::span<uint8_t> region() override { return {base_, size_}; }
  // The memfd stays open: registered host memory maps heap pages from it.
  BackingFile backing_file() const override { return {region_fd_, 0}; }

  void notify_host() override {
    const uint64_t one = 1;
    // An eventfd write only fails when the counter would overflow, which means vgpud has
    // plenty of pending wake-ups already.
    [[maybe_unused]] ssize_t n = write(doorbell_fd_, &one, sizeof one);
  }

  bool wait_for_host(int timeout_ms) override {
    pollfd fds[2] = {{notify_fd_, POLLIN, 0}, {socket_fd_, POLLIN | POLLRDHUP, 0}};
    const int n = poll(fds, 2, timeout_ms);
    if (n < 0) return errno == EINTR;
    if (fds[1].revents & (POLLHUP | POLLRDHUP | POLLERR | POLLIN)) return false;  // vgpud gone
    if (fds[0].revents & POLLIN) {
      uint64_t count;
      [[maybe_unused]] ssize_t r = read(notify_fd_, &count, sizeof count);
    }
    return true;
  }

  std::string describe() const override { return "local:" + path_; }

 private:
  int socket_fd_, region_fd_, doorbell_fd_, notify_fd_;
  uint8_t* base_;
  size_t size_;
  std::string path_;
};

// Bounds the socket's next blocking step by what is left until `deadline`. AF_UNIX connect
// honours SO_SNDTIMEO while the server's backlog is full; send and recvmsg honour theirs.
// False when no time is left.
bool arm_timeouts(int fd, std::chrono::steady_clock::time_point deadline) {
  const auto left = std::chrono::ceil<std::chrono::microseconds>(deadline - std::chrono::steady_clock::now());
  if (left.count() <= 0) return false;
  const timeval tv{static_cast<time_t>(left.count() / 1000000),
                   static_cast<suseconds_t>(left.count() % 1000000)};
  return setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) == 0 &&
         setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0;
}

// recvmsg of the reply and its descriptors (close-on-exec; any beyond kHandshakeFdCount are
// closed); -1 with errno EAGAIN when the deadline passed first.
ssize_t receive_reply(int fd, std::chrono::steady_clock::time_point deadline, proto::HandshakeReply* reply,
                      std::span<int, proto::kHandshakeFdCount> fds, size_t* fd_count) {
  *fd_count = 0;
  ssize_t n;
  do {
    if (!arm_timeouts(fd, deadline)) {
      errno = EAGAIN;
      return -1;
    }
    n = recv_with_fds(fd, reply, sizeof *reply, fds, fd_count, MSG_WAITALL);
  } while (n < 0 && errno == EINTR);
  return n;
}

}  // namespace

Result<std::unique_ptr<Transport>, ConnectFailure> connect_local(const std::string& path,
                                                                 std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto timed_out = [&] {
    return failure(ConnectError::Refused,
                   "vgpud at " + path + " did not answer within " + std::to_string(timeout.count()) +
                       " ms: it is hung or overloaded (its log says which; VGPU_CONNECT_TIMEOUT_MS sets "
                       "this wait)");
  };
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path)
    return Err{failure(ConnectError::NoEndpoint, "the vgpu socket path " + path + " is too long")};
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);

  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Err{failure(ConnectError::SystemError, "cannot create a UNIX socket")};
  int rc;
  do {
    if (!arm_timeouts(fd, deadline)) {
      close(fd);
      return Err{timed_out()};
    }
    rc = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    const int e = errno;
    close(fd);
    if (e == EAGAIN) return Err{timed_out()};  // the backlog stayed full
    if (e == EACCES || e == EPERM)
      return Err{failure(ConnectError::PermissionDenied,
                         "no permission to use the vgpu socket " + path +
                             ": ask for membership of its group (usually 'vgpu')")};
    return Err{failure(ConnectError::NoEndpoint,
                       "vgpud is not reachable at " + path + " (" + std::strerror(e) +
                           "): start vgpud, or set VGPU_SOCKET to your tenant's socket")};
  }

  const proto::HandshakeRequest request{proto::kHandshakeMagic, proto::kProtocolVersion, {0, 0}};
  if (!arm_timeouts(fd, deadline) || send(fd, &request, sizeof request, MSG_NOSIGNAL) != sizeof request) {
    const int e = errno;
    close(fd);
    if (e == EAGAIN) return Err{timed_out()};
    return Err{failure(ConnectError::SystemError, "vgpud closed the socket during connect")};
  }

  proto::HandshakeReply reply{};
  int fds[proto::kHandshakeFdCount];
  size_t fd_count = 0;
  const ssize_t got = receive_reply(fd, deadline, &reply, fds, &fd_count);
  const int receive_errno = errno;
  auto close_all = [&] {
    for (size_t i = 0; i < fd_count; ++i) close(fds[i]);
    close(fd);
  };
  if (got < 0 && (receive_errno == EAGAIN || receive_errno == EWOULDBLOCK)) {
    close_all();
    return Err{timed_out()};
  }
  if (got == 0) {
    close_all();
    return Err{failure(ConnectError::Refused,
                       "vgpud at " + path + " closed the connection during the handshake: its log says why")};
  }
  if (got != static_cast<ssize_t>(sizeof reply) || reply.magic != proto::kHandshakeMagic) {
    close_all();
    return Err{failure(ConnectError::Refused, "vgpud at " + path + " answered with garbage")};
  }
  reply.message[sizeof reply.message - 1] = '\0';
  if (reply.status != static_cast<int32_t>(proto::HandshakeStatus::Ok)) {
    close_all();
    return Err{failure(ConnectError::Refused, std::string("vgpud refused the connection: ") +
                                                  reply.message)};
  }
  if (fd_count != static_cast<size_t>(proto::kHandshakeFdCount) || reply.region_size == 0) {
    close_all();
    return Err{failure(ConnectError::BadRegion, "vgpud did not hand over a channel region")};
  }
  void* base = mmap(nullptr, reply.region_size, PROT_READ | PROT_WRITE, MAP_SHARED, fds[0], 0);
  if (base == MAP_FAILED) {
    close(fds[0]);
    close(fds[1]);
    close(fds[2]);
    close(fd);
    return Err{failure(ConnectError::BadRegion, "cannot map the channel region from vgpud")};
  }
  // The socket is only polled from now on; no timeout is left on it.
  const timeval none{0, 0};
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &none, sizeof none);
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &none, sizeof none);
  return std::unique_ptr<Transport>(new LocalTransport(
      fd, fds[0], fds[1], fds[2], static_cast<uint8_t*>(base), reply.region_size, path));
}

}  // namespace vgpu::guest
