// vgpu-hostile-client: clients that misbehave on purpose, for test/gpu/run-hostile.sh, which
// runs them beside real CUDA programs on a GPU machine to show that they cost the others
// nothing. Each holds its connection for SECONDS, then exits.
//
//   vgpu-hostile-client silent  SOCKET SECONDS   connects and never sends its handshake
//   vgpu-hostile-client idle    SOCKET SECONDS   opens a channel and makes no call
//   vgpu-hostile-client noread  SOCKET SECONDS   allocates 64 MiB, then posts 60,000 answered
//                                                calls and reads no reply
//   vgpu-hostile-client garbage SOCKET SECONDS   sends malformed messages as fast as it can
//
// Prints "<mode>: ready" (flushed) once it is doing what it does.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>

#include "test/integration/raw_channel.h"

using namespace vgpu;
using namespace vgpu::test;
using Clock = std::chrono::steady_clock;

namespace {

void ready(const std::string& mode) {
  std::printf("%s: ready\n", mode.c_str());
  std::fflush(stdout);
}

void header_only(RawChannel& ch, proto::CallId call, uint64_t seq, uint16_t flags) {
  const proto::RequestHeader h{sizeof h, static_cast<uint16_t>(call), flags, seq};
  std::vector<uint8_t> bytes(sizeof h);
  std::memcpy(bytes.data(), &h, sizeof h);
  ch.send_bytes(bytes);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s silent|idle|noread|garbage SOCKET SECONDS\n", argv[0]);
    return 2;
  }
  const std::string mode = argv[1], socket_path = argv[2];
  const auto until = Clock::now() + std::chrono::seconds(std::stoi(argv[3]));
  const auto hold = [&] { std::this_thread::sleep_until(until); };
  try {
    if (mode == "silent") {
      const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_un addr{};
      addr.sun_family = AF_UNIX;
      std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", socket_path.c_str());
      if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        std::perror("connect");
        return 1;
      }
      ready(mode);
      hold();
      return 0;
    }
    RawChannel ch(socket_path);
    uint64_t seq = 1;
    if (mode == "idle") {
      ready(mode);
      hold();
    } else if (mode == "noread") {
      ch.send(proto::CallId::MemAlloc, proto::MemAllocRequest{64 << 20}, seq++);
      if (!ch.receive()) return 1;
      for (int i = 0; i < 60000 && Clock::now() < until; ++i) {
        if (!ch.wait_for_room(sizeof(proto::RequestHeader), 1000)) break;  // vgpud closed it
        header_only(ch, proto::CallId::Ping, seq++, proto::kFlagNeedsReply);
      }
      ready(mode);
      hold();
    } else if (mode == "garbage") {
      ready(mode);
      for (uint64_t n = 0; Clock::now() < until && !ch.host_closed(); ++n) {
        if (!ch.wait_for_room(sizeof(proto::RequestHeader), 1000)) break;
        header_only(ch, static_cast<proto::CallId>(0x7fff), seq++, 0);  // no such call
      }
      hold();
    } else {
      std::fprintf(stderr, "unknown mode %s\n", mode.c_str());
      return 2;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", mode.c_str(), e.what());
    return 1;
  }
  return 0;
}
