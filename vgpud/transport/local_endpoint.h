// A tenant's local endpoint: the UNIX socket host processes and containers connect to.
// Accepting runs the handshake (protocol/handshake.h): the new channel's region and its two
// eventfds go to the process over SCM_RIGHTS.
//
// The daemon's one thread serves every tenant, so nothing here waits for a client. Accepted
// clients are pending handshakes, polled by the daemon next to everything else, each with a
// deadline to send its request; at most max_pending of them per tenant, while further clients
// wait in the kernel's backlog. A client that stays silent costs its tenant one pending entry
// for a second, and never delays another client or tenant.
#pragma once
#include <sys/types.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "vgpu/protocol/handshake.h"
#include "vgpu/common/result.h"
#include "vgpud/transport/channel_region.h"
#include "vgpud/transport/listen_socket.h"
#include "vgpud/transport/unique_fd.h"

namespace vgpud {

// A connected guest process with its channel resources.
struct AcceptedChannel {
  UniqueFd socket;    // stays open; it closing means the process is gone
  UniqueFd doorbell;  // guest -> vgpud
  UniqueFd notify;    // vgpud -> guest
  std::unique_ptr<ChannelRegion> region;
  pid_t pid = 0;
  uid_t uid = 0;
};

// How long a client has to send its HandshakeRequest (16 bytes, sent right after connect),
// and how many such clients one tenant may have waiting at once.
inline constexpr std::chrono::milliseconds kHandshakeDeadline{1000};
inline constexpr size_t kMaxPendingHandshakes = 32;

struct LocalEndpointOptions {
  std::string socket_path;
  std::string group;   // empty: keep the process's group
  uint32_t mode = 0660;
  proto::ChannelSizes sizes;
  std::string tenant;  // for names and logs
  std::chrono::milliseconds handshake_deadline = kHandshakeDeadline;
  size_t max_pending = kMaxPendingHandshakes;
};

class LocalEndpoint {
 public:
  using Clock = std::chrono::steady_clock;
  // Whether the tenant takes another channel; asked when a request is complete.
  using Admit = std::function<proto::HandshakeStatus()>;
  // A handshake that ended: the channel, or why the client was dropped (for the log).
  using Outcome = vgpu::Result<AcceptedChannel, std::string>;

  // Creates and listens on the socket (replacing a stale socket file).
  static vgpu::Result<std::unique_ptr<LocalEndpoint>, std::string> listen(LocalEndpointOptions options);

  int fd() const { return socket_.fd(); }
  const std::string& path() const { return options_.socket_path; }

  // Whether to poll fd(): not while max_pending handshakes wait, nor for a moment after
  // accept failed for want of descriptors (the socket would stay readable and spin the loop).
  bool accepting(Clock::time_point now) const;
  // Accepts the clients waiting on the socket, without blocking, as pending handshakes. An
  // error is for the log; accepting pauses briefly after it.
  std::optional<std::string> accept_pending(Clock::time_point now);
  // The pending clients' sockets, to poll for POLLIN.
  std::vector<int> pending_fds() const;
  // The earliest deadline of a pending handshake or of an accept pause; nullopt when none.
  std::optional<Clock::time_point> next_wakeup() const;
  // The pending client on `fd` sent something or hung up: nullopt while its request is still
  // incomplete (or `fd` is not a pending client), else what became of it.
  std::optional<Outcome> advance(int fd, const Admit& admit);
  // Drops the pending clients whose deadline has passed; returns why, one entry per client.
  std::vector<std::string> drop_expired(Clock::time_point now);

 private:
  struct Pending {
    UniqueFd socket;
    Clock::time_point deadline;
    proto::HandshakeRequest request{};
    size_t received = 0;  // bytes of request so far
    pid_t pid = 0;
    uid_t uid = 0;
  };

  LocalEndpoint(LocalEndpointOptions options, ListeningSocket socket)
      : options_(std::move(options)), socket_(std::move(socket)) {}
  // The request is complete: check it, ask admit, make the channel and send it.
  Outcome finish(Pending pending, const Admit& admit);

  LocalEndpointOptions options_;
  ListeningSocket socket_;
  std::vector<Pending> pending_;
  Clock::time_point accept_paused_until_{};
};

}  // namespace vgpud
