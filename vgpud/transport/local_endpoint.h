// A tenant's local endpoint: the UNIX socket host processes and containers connect to.
// Accepting runs the handshake (protocol/handshake.h): the new channel's region and its two
// eventfds go to the process over SCM_RIGHTS.
#pragma once
#include <sys/types.h>

#include <functional>
#include <memory>
#include <string>

#include "vgpu/protocol/handshake.h"
#include "vgpu/result.h"
#include "vgpud/transport/channel_region.h"
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

struct LocalEndpointOptions {
  std::string socket_path;
  std::string group;   // empty: keep the process's group
  uint32_t mode = 0660;
  proto::ChannelSizes sizes;
  std::string tenant;  // for names and logs
};

class LocalEndpoint {
 public:
  // Creates and listens on the socket (replacing a stale socket file).
  static vgpu::Result<std::unique_ptr<LocalEndpoint>, std::string> listen(LocalEndpointOptions options);
  ~LocalEndpoint();

  int fd() const { return listen_fd_.get(); }
  const std::string& path() const { return options_.socket_path; }

  // Accepts one pending connection and runs the handshake. `admit` decides whether the tenant
  // takes another channel. Returns an error string for log when the connection was dropped.
  vgpu::Result<AcceptedChannel, std::string> accept_one(
      const std::function<proto::HandshakeStatus()>& admit);

 private:
  explicit LocalEndpoint(LocalEndpointOptions options, UniqueFd fd)
      : options_(std::move(options)), listen_fd_(std::move(fd)) {}

  LocalEndpointOptions options_;
  UniqueFd listen_fd_;
};

}  // namespace vgpud
