// Local transport: a host process (or container) talks to vgpud through a tenant's UNIX
// socket; the channel region and doorbells arrive as file descriptors.
#pragma once
#include <string>

#include "guest/transport/transport.h"

namespace vgpu::guest {

Result<std::unique_ptr<Transport>, ConnectFailure> connect_local(const std::string& socket_path);

}  // namespace vgpu::guest
