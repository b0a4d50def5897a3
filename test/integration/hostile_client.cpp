// vgpu-hostile-client: clients that misbehave on purpose, for test/gpu/run-hostile.sh, which
// runs them beside real CUDA programs on a GPU machine to show that they cost the others
// nothing. Each holds its connection for SECONDS, then exits.
//
//   vgpu-hostile-client silent  SOCKET SECONDS   connects and never sends its handshake
//   vgpu-hostile-client idle    SOCKET SECONDS   opens a channel and makes no call
//   vgpu-hostile-client noread  SOCKET SECONDS   allocates 64 MiB, then posts 60,000 answered
//                                                calls and reads no reply
//   vgpu-hostile-client garbage SOCKET SECONDS   sends malformed messages as fast as it can
//   vgpu-hostile-client badcalls SOCKET SECONDS  posts well-formed calls with hostile fields as fast
//                                                as it can: 2D memsets and stream memory
//                                                operations past its allocation or into vgpud's
//                                                memory, bad widths and element sizes, unknown
//                                                module, function and stream ids, launches with
//                                                the wrong parameter size, limits no driver has,
//                                                virtual memory mapped outside its reservation or
//                                                past its end, unmaps of what is not a mapping,
//                                                array copies past a row, __managed__ lookups in
//                                                no module,
//                                                instantiations of a graph whose edges close a
//                                                cycle (the driver would crash vgpud)
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
#include "vgpu/protocol/graph_edge.h"

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
    std::fprintf(stderr, "usage: %s silent|idle|noread|garbage|badcalls SOCKET SECONDS\n", argv[0]);
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
    } else if (mode == "badcalls") {
      ch.send(proto::CallId::MemAlloc, proto::MemAllocRequest{4096}, seq++);
      auto r = ch.receive();
      if (!r || r->header.status != 0 || r->payload.size() < 8) return 1;
      uint64_t ptr;
      std::memcpy(&ptr, r->payload.data(), 8);
      const uint64_t foreign = reinterpret_cast<uint64_t>(&ptr);  // its own stack: vgpud's view of nothing
      // A graph of two empty nodes, each waiting for the other.
      auto answered_id = [&](proto::CallId call, const auto& request, const std::string& tail = {}) -> uint32_t {
        ch.send(call, request, seq++, proto::kFlagNeedsReply, tail);
        auto reply = ch.receive();
        if (!reply || reply->header.status != 0 || reply->payload.size() < 4) return 0;
        uint32_t id;
        std::memcpy(&id, reply->payload.data(), 4);
        return id;
      };
      const uint32_t cyclic = answered_id(proto::CallId::GraphCreate, proto::GraphCreateRequest{0, 0});
      const uint32_t a = answered_id(proto::CallId::GraphAddEmptyNode, proto::GraphRequest{cyclic, 0});
      const uint32_t b = answered_id(proto::CallId::GraphAddEmptyNode, proto::GraphRequest{cyclic, 0});
      const proto::GraphEdge both[] = {proto::plain_edge(a, b), proto::plain_edge(b, a)};
      ch.send(proto::CallId::GraphAddDependencies, proto::GraphAddDependenciesRequest{cyclic, sizeof both}, seq++, proto::kFlagNeedsReply,
              std::string(reinterpret_cast<const char*>(both), sizeof both));
      if (cyclic == 0 || a == 0 || b == 0 || !ch.receive()) return 1;
      // Virtual memory: one reservation and one physical allocation of 2 MiB, mapped nowhere.
      auto answered_u64 = [&](proto::CallId call, const auto& request) -> uint64_t {
        ch.send(call, request, seq++, proto::kFlagNeedsReply);
        auto reply = ch.receive();
        if (!reply || reply->header.status != 0 || reply->payload.size() < 8) return 0;
        uint64_t v;
        std::memcpy(&v, reply->payload.data(), 8);
        return v;
      };
      constexpr uint64_t k2M = uint64_t{2} << 20;
      const uint64_t reservation = answered_u64(proto::CallId::MemAddressReserve, proto::MemAddressReserveRequest{k2M, 0, 0});
      const uint64_t physical = answered_u64(proto::CallId::MemCreate, proto::MemCreateRequest{k2M, 0, 0});
      // A 16 x 16 array of bytes (CU_AD_FORMAT_UNSIGNED_INT8, one channel).
      const uint32_t array = answered_id(proto::CallId::ArrayCreate, proto::ArrayCreateRequest{16, 16, 0, 0x01, 1, 0, 0});
      if (reservation == 0 || physical == 0 || array == 0) return 1;
      proto::MemcpyArrayRequest past_row{};  // device memory into the array, 8 bytes past a row's end
      past_row.src_kind = 0;
      past_row.src = ptr;
      past_row.dst_kind = 1;
      past_row.dst = array;
      past_row.dst_x = 8;
      past_row.width = 16;
      past_row.height = past_row.depth = 1;
      ready(mode);
      const std::string params(20, 'x');  // no kernel of any module takes 20 bytes here
      for (uint64_t n = 0; Clock::now() < until && !ch.host_closed(); ++n) {
        if (!ch.wait_for_room(256, 1000)) break;
        switch (n % 14) {
          case 0: ch.send(proto::CallId::Memset2D, proto::Memset2DRequest{ptr + 1024, 1024, 256, 4, 0, 0, 4}, seq++, 0); break;
          case 1: ch.send(proto::CallId::Memset2D, proto::Memset2DRequest{ptr, 1ull << 63, 1, 3, 0, 0, 3}, seq++, 0); break;
          case 2: ch.send(proto::CallId::StreamWriteValue, proto::StreamValueRequest{0, ptr + 4094, 1, 0, 4}, seq++, 0); break;
          case 3: ch.send(proto::CallId::StreamWaitValue, proto::StreamValueRequest{0x9999, foreign, 1, 4, 6}, seq++, 0); break;
          case 4: ch.send(proto::CallId::ModuleListFunctions, proto::ModuleListFunctionsRequest{0x4242, 0}, seq++, 0); break;
          case 5: {
            proto::LaunchKernelExRequest l{};
            l.function = static_cast<uint32_t>(n);
            l.grid[0] = l.grid[1] = l.grid[2] = l.block[0] = l.block[1] = l.block[2] = 1;
            l.cluster[0] = 3;
            l.flags = 3;
            l.param_bytes = static_cast<uint32_t>(params.size());
            ch.send(proto::CallId::LaunchKernelEx, l, seq++, 0, params);
            break;
          }
          case 6: ch.send(proto::CallId::CtxSetLimit, proto::CtxSetLimitRequest{15, 0, ~0ull}, seq++, 0); break;
          case 7: ch.send(proto::CallId::GraphInstantiate, proto::GraphInstantiateRequest{cyclic, 0, 0}, seq++, 0); break;
          case 9: ch.send(proto::CallId::MemMap, proto::MemMapRequest{ptr, k2M, 0, physical}, seq++, 0); break;
          case 10: ch.send(proto::CallId::MemMap, proto::MemMapRequest{reservation + k2M / 2, k2M, 0, physical}, seq++, 0); break;
          case 11: ch.send(proto::CallId::MemUnmap, proto::MemRangeRequest{ptr, 4096}, seq++, 0); break;
          case 12: ch.send(proto::CallId::MemcpyArray, past_row, seq++, 0); break;
          case 13: ch.send(proto::CallId::ModuleGetManaged, proto::ModuleSymbolRequest{0x4242, 4}, seq++, 0, "nope"); break;
          default: {
            proto::ClusterOccupancyRequest o{};
            o.function = static_cast<uint32_t>(n);
            o.grid[0] = o.grid[1] = o.grid[2] = o.block[0] = o.block[1] = o.block[2] = 1;
            ch.send(proto::CallId::OccupancyMaxActiveClusters, o, seq++, 0);
            break;
          }
        }
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
