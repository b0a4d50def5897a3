#include <cstdlib>
#include <cstring>

#include "guest/transport/local_transport.h"

namespace vgpu::guest {

namespace {
constexpr const char* kDefaultSocket = "/run/vgpu/default.sock";
}

Result<std::unique_ptr<Transport>, ConnectFailure> connect_transport() {
  const char* forced = std::getenv("VGPU_TRANSPORT");
  if (forced != nullptr && std::strcmp(forced, "local") != 0 && std::strcmp(forced, "") != 0)
    return Err{ConnectFailure{ConnectError::NoEndpoint,
                              std::string("VGPU_TRANSPORT=") + forced +
                                  " is not available in this build: use 'local'"}};
  const char* socket = std::getenv("VGPU_SOCKET");
  return connect_local(socket != nullptr && *socket != '\0' ? socket : kDefaultSocket);
}

}  // namespace vgpu::guest
