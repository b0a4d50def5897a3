// Local transport: a host process (or container) talks to vgpud through a tenant's UNIX
// socket; the channel region and doorbells arrive as file descriptors.
#pragma once
#include <chrono>
#include <string>

#include "guest/transport/transport.h"

namespace vgpu::guest {

// How long connect + handshake may take by default (VGPU_CONNECT_TIMEOUT_MS overrides it):
// vgpud answers at once, so running out means it is hung or overwhelmed, and the process is
// better off failing with a sentence than hanging.
inline constexpr std::chrono::milliseconds kDefaultConnectTimeout{5000};

// Connects to the tenant's socket and runs the handshake, all within `timeout`.
Result<std::unique_ptr<Transport>, ConnectFailure> connect_local(
    const std::string& socket_path, std::chrono::milliseconds timeout = kDefaultConnectTimeout);

}  // namespace vgpu::guest
