#include "vgpud/transport/local_endpoint.h"

#include <sys/eventfd.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "vgpu/protocol/version.h"
#include "vgpud/transport/listen_socket.h"

namespace vgpud {

namespace {

std::string errno_text(const char* what) { return std::string(what) + ": " + std::strerror(errno); }

bool send_reply(int fd, const proto::HandshakeReply& reply, const int* fds, int fd_count) {
  iovec iov{const_cast<proto::HandshakeReply*>(&reply), sizeof reply};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * proto::kHandshakeFdCount)] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  if (fd_count > 0) {
    msg.msg_control = control;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * fd_count);
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * fd_count);
    std::memcpy(CMSG_DATA(c), fds, sizeof(int) * fd_count);
  }
  return sendmsg(fd, &msg, MSG_NOSIGNAL) == static_cast<ssize_t>(sizeof reply);
}

proto::HandshakeReply refusal(proto::HandshakeStatus status, const char* message) {
  proto::HandshakeReply r{};
  r.magic = proto::kHandshakeMagic;
  r.protocol_version = proto::kProtocolVersion;
  r.status = static_cast<int32_t>(status);
  std::strncpy(r.message, message, sizeof r.message - 1);
  return r;
}

}  // namespace

vgpu::Result<std::unique_ptr<LocalEndpoint>, std::string> LocalEndpoint::listen(
    LocalEndpointOptions options) {
  auto fd = listen_unix_socket({.path = options.socket_path,
                                .group = options.group,
                                .mode = options.mode,
                                .owner_hint = "the tenant's local endpoint"});
  if (!fd) return vgpu::Err{fd.error()};
  return std::unique_ptr<LocalEndpoint>(new LocalEndpoint(std::move(options), std::move(fd).value()));
}

LocalEndpoint::~LocalEndpoint() {
  if (listen_fd_.valid()) unlink(options_.socket_path.c_str());
}

vgpu::Result<AcceptedChannel, std::string> LocalEndpoint::accept_one(
    const std::function<proto::HandshakeStatus()>& admit) {
  UniqueFd conn(accept4(listen_fd_.get(), nullptr, nullptr, SOCK_CLOEXEC));
  if (!conn.valid()) return vgpu::Err{errno_text("accept")};

  // The handshake is tiny; a client that does not send it within a second is dropped.
  timeval timeout{1, 0};
  setsockopt(conn.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  setsockopt(conn.get(), SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);

  AcceptedChannel ch;
  ucred cred{};
  socklen_t len = sizeof cred;
  if (getsockopt(conn.get(), SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
    ch.pid = cred.pid;
    ch.uid = cred.uid;
  }

  proto::HandshakeRequest request{};
  if (recv(conn.get(), &request, sizeof request, MSG_WAITALL) != sizeof request)
    return vgpu::Err{std::string("client sent no handshake")};
  if (request.magic != proto::kHandshakeMagic) return vgpu::Err{std::string("client sent garbage")};
  if (request.protocol_version != proto::kProtocolVersion) {
    send_reply(conn.get(),
               refusal(proto::HandshakeStatus::VersionMismatch,
                       "protocol version mismatch: install matching vgpu host and guest packages"),
               nullptr, 0);
    return vgpu::Err{"client speaks protocol version " + std::to_string(request.protocol_version)};
  }
  const proto::HandshakeStatus admitted = admit();
  if (admitted != proto::HandshakeStatus::Ok) {
    const char* why = admitted == proto::HandshakeStatus::TenantFull
                          ? "the tenant's max_processes limit is reached"
                          : "vgpud is shutting down";
    send_reply(conn.get(), refusal(admitted, why), nullptr, 0);
    return vgpu::Err{std::string("refused: ") + why};
  }

  auto region = ChannelRegion::create(options_.sizes, options_.tenant);
  ch.doorbell = UniqueFd(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  ch.notify = UniqueFd(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!region || !ch.doorbell.valid() || !ch.notify.valid()) {
    send_reply(conn.get(), refusal(proto::HandshakeStatus::ResourceFailure,
                                   "vgpud could not create the channel's shared memory"),
               nullptr, 0);
    return vgpu::Err{region ? errno_text("eventfd") : "region: " + region.error()};
  }
  ch.region = std::move(region).value();

  proto::HandshakeReply reply{};
  reply.magic = proto::kHandshakeMagic;
  reply.protocol_version = proto::kProtocolVersion;
  reply.status = static_cast<int32_t>(proto::HandshakeStatus::Ok);
  reply.region_size = ch.region->size();
  const int fds[proto::kHandshakeFdCount] = {ch.region->memfd(), ch.doorbell.get(), ch.notify.get()};
  if (!send_reply(conn.get(), reply, fds, proto::kHandshakeFdCount))
    return vgpu::Err{errno_text("sending the channel to the client")};
  ch.socket = std::move(conn);
  return ch;
}

}  // namespace vgpud
