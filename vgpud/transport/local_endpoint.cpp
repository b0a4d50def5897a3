#include "vgpud/transport/local_endpoint.h"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "vgpu/common/errno_text.h"
#include "vgpu/common/fd_passing.h"
#include "vgpu/protocol/version.h"
#include "vgpud/transport/listen_socket.h"

namespace vgpud {

using vgpu::errno_text;

namespace {

// After accept fails for want of descriptors or memory, how long the socket is not polled.
constexpr std::chrono::milliseconds kAcceptPause{100};

static_assert(proto::kHandshakeFdCount <= vgpu::kMaxPassedFds);

bool send_reply(int fd, const proto::HandshakeReply& reply, const int* fds, int fd_count) {
  return vgpu::send_with_fds(fd, &reply, sizeof reply,
                             std::span<const int>(fds, static_cast<size_t>(fd_count)), MSG_DONTWAIT);
}

proto::HandshakeReply refusal(proto::HandshakeStatus status, const char* message) {
  proto::HandshakeReply r{};
  r.magic = proto::kHandshakeMagic;
  r.protocol_version = proto::kProtocolVersion;
  r.status = static_cast<int32_t>(status);
  std::strncpy(r.message, message, sizeof r.message - 1);
  return r;
}

// "client pid 1234: ", the start of every reason a client is dropped for.
std::string client(pid_t pid) { return "client pid " + std::to_string(pid) + ": "; }

}  // namespace

vgpu::Result<std::unique_ptr<LocalEndpoint>, std::string> LocalEndpoint::listen(
    LocalEndpointOptions options) {
  auto socket = listen_unix_socket({.path = options.socket_path,
                                    .group = options.group,
                                    .mode = options.mode,
                                    .owner_hint = "the tenant's local endpoint"});
  if (!socket) return vgpu::Err{socket.error()};
  return std::unique_ptr<LocalEndpoint>(new LocalEndpoint(std::move(options), std::move(socket).value()));
}

bool LocalEndpoint::accepting(Clock::time_point now) const {
  return pending_.size() < options_.max_pending && now >= accept_paused_until_;
}

std::optional<std::string> LocalEndpoint::accept_pending(Clock::time_point now) {
  while (accepting(now)) {
    UniqueFd conn(accept4(socket_.fd(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
    if (!conn.valid()) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return std::nullopt;
      if (errno == EINTR || errno == ECONNABORTED) continue;
      // Out of descriptors or memory: the client stays in the backlog for a later try.
      accept_paused_until_ = now + kAcceptPause;
      return errno_text("accept");
    }
    Pending p;
    p.deadline = now + options_.handshake_deadline;
    ucred cred{};
    socklen_t len = sizeof cred;
    if (getsockopt(conn.get(), SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
      p.pid = cred.pid;
      p.uid = cred.uid;
    }
    p.socket = std::move(conn);
    pending_.push_back(std::move(p));
  }
  return std::nullopt;
}

std::vector<int> LocalEndpoint::pending_fds() const {
  std::vector<int> fds;
  for (const Pending& p : pending_) fds.push_back(p.socket.get());
  return fds;
}

std::optional<LocalEndpoint::Clock::time_point> LocalEndpoint::next_wakeup() const {
  std::optional<Clock::time_point> next;
  for (const Pending& p : pending_)
    if (!next || p.deadline < *next) next = p.deadline;
  if (accept_paused_until_ != Clock::time_point{} && (!next || accept_paused_until_ < *next))
    next = accept_paused_until_;
  return next;
}

std::optional<LocalEndpoint::Outcome> LocalEndpoint::advance(int fd, const Admit& admit) {
  auto it = std::find_if(pending_.begin(), pending_.end(),
                         [fd](const Pending& p) { return p.socket.get() == fd; });
  if (it == pending_.end()) return std::nullopt;
  auto* bytes = reinterpret_cast<uint8_t*>(&it->request);
  const ssize_t n = recv(fd, bytes + it->received, sizeof it->request - it->received, MSG_DONTWAIT);
  const int recv_errno = errno;
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return std::nullopt;
  if (n > 0) it->received += static_cast<size_t>(n);
  if (n > 0 && it->received < sizeof it->request) return std::nullopt;
  Pending p = std::move(*it);
  pending_.erase(it);
  if (n == 0) return Outcome{vgpu::Err{client(p.pid) + "hung up before its handshake"}};
  if (n < 0) return Outcome{vgpu::Err{client(p.pid) + "recv: " + std::strerror(recv_errno)}};
  return finish(std::move(p), admit);
}

std::vector<std::string> LocalEndpoint::drop_expired(Clock::time_point now) {
  std::vector<std::string> dropped;
  std::erase_if(pending_, [&](const Pending& p) {
    if (now < p.deadline) return false;
    dropped.push_back(client(p.pid) + "sent no handshake within " +
                      std::to_string(options_.handshake_deadline.count()) + " ms");
    return true;
  });
  if (now >= accept_paused_until_) accept_paused_until_ = {};
  return dropped;
}

LocalEndpoint::Outcome LocalEndpoint::finish(Pending p, const Admit& admit) {
  const proto::HandshakeRequest& request = p.request;
  UniqueFd& conn = p.socket;
  if (request.magic != proto::kHandshakeMagic) return vgpu::Err{client(p.pid) + "sent garbage"};
  if (request.protocol_version != proto::kProtocolVersion) {
    send_reply(conn.get(),
               refusal(proto::HandshakeStatus::VersionMismatch,
                       "protocol version mismatch: install matching vgpu host and guest packages"),
               nullptr, 0);
    return vgpu::Err{client(p.pid) + "speaks protocol version " + std::to_string(request.protocol_version)};
  }
  const proto::HandshakeStatus admitted = admit();
  if (admitted != proto::HandshakeStatus::Ok) {
    const char* why = admitted == proto::HandshakeStatus::TenantFull
                          ? "the tenant's max_processes limit is reached"
                          : "vgpud is shutting down";
    send_reply(conn.get(), refusal(admitted, why), nullptr, 0);
    return vgpu::Err{client(p.pid) + "refused: " + why};
  }

  AcceptedChannel ch;
  ch.pid = p.pid;
  ch.uid = p.uid;
  auto region = ChannelRegion::create(options_.sizes, options_.tenant);
  ch.doorbell = UniqueFd(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  ch.notify = UniqueFd(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!region || !ch.doorbell.valid() || !ch.notify.valid()) {
    send_reply(conn.get(), refusal(proto::HandshakeStatus::ResourceFailure,
                                   "vgpud could not create the channel's shared memory"),
               nullptr, 0);
    const std::string why = region ? errno_text("eventfd") : "region: " + region.error();
    return vgpu::Err{client(p.pid) + why};
  }
  ch.region = std::move(region).value();

  proto::HandshakeReply reply{};
  reply.magic = proto::kHandshakeMagic;
  reply.protocol_version = proto::kProtocolVersion;
  reply.status = static_cast<int32_t>(proto::HandshakeStatus::Ok);
  reply.region_size = ch.region->size();
  const int fds[proto::kHandshakeFdCount] = {ch.region->memfd(), ch.doorbell.get(), ch.notify.get()};
  // A fresh socket has room for the reply: one that does not take it at once is dropped.
  if (!send_reply(conn.get(), reply, fds, proto::kHandshakeFdCount)) {
    const std::string why = errno_text("sending the channel to the client");
    return vgpu::Err{client(p.pid) + why};
  }
  // The worker gets the socket as accept() used to give it: blocking (it only polls it).
  fcntl(conn.get(), F_SETFL, fcntl(conn.get(), F_GETFL) & ~O_NONBLOCK);
  ch.socket = std::move(conn);
  return ch;
}

}  // namespace vgpud
