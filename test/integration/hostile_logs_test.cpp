// A hostile guest cannot flood vgpud's log, forge lines in it, or pass for another process
// (issue 11, item 8).
#include <unistd.h>

#include <catch2/catch.hpp>

#include <sstream>

#include "test/integration/raw_channel.h"
#include "test/integration/vgpud_process.h"
#include "vgpu/protocol/version.h"

using namespace vgpu;
using namespace vgpu::test;
using proto::CallId;

namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

size_t count_lines_with(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (const std::string& line : lines_of(text))
    if (line.find(needle) != std::string::npos) ++n;
  return n;
}

// A HELLO as the shim sends it, with whatever name and pid the test wants to claim.
void send_hello(RawChannel& ch, const std::string& name, uint32_t pid, uint64_t seq) {
  proto::HelloRequest hello{};
  hello.protocol_version = proto::kProtocolVersion;
  hello.pid = pid;
  REQUIRE(name.size() < sizeof hello.process_name);
  std::memcpy(hello.process_name, name.data(), name.size());
  ch.send(CallId::Hello, hello, seq);
}

// The first log line with `needle`, once it is there (the workers log asynchronously).
std::string wait_for_line(const VgpudProcess& vgpud, const std::string& needle) {
  std::string found;
  eventually([&] {
    for (const std::string& line : lines_of(vgpud.read_log()))
      if (line.find(needle) != std::string::npos) {
        found = line;
        return true;
      }
    return false;
  });
  return found;
}

}  // namespace

TEST_CASE("a flood of malformed messages writes a bounded number of log lines", "[hostile][log]") {
  constexpr int kMessages = 20000;
  VgpudProcess vgpud;
  {
    RawChannel ch(vgpud.socket("alpha"));
    // MEM_FREE with a payload of the wrong size: rejected by the mediator, and the channel goes
    // on. Posted (no reply wanted), so the test need not read 20,000 replies.
    const uint32_t size = sizeof(proto::RequestHeader) + sizeof(proto::MemcpyDtoDRequest);
    bool room = true;
    for (int i = 1; i <= kMessages && room; ++i) {
      room = ch.wait_for_room(size);
      ch.send(CallId::MemFree, proto::MemcpyDtoDRequest{}, static_cast<uint64_t>(i), 0);
    }
    REQUIRE(room);
    // A round trip after the flood (PING with a payload: rejected too): every message before it
    // has been taken and rejected.
    ch.send(CallId::Ping, proto::HelloRequest{}, kMessages + 1);
    auto r = ch.receive();
    REQUIRE(r.has_value());
    REQUIRE(r->header.seq == kMessages + 1);
  }
  // Every rejection is counted, whatever the log says.
  CHECK(vgpud.counter("alpha", "rejected") == kMessages + 1);
  // The flood may end before the next line is let through: the channel's end reports the rest.
  REQUIRE_FALSE(wait_for_line(vgpud, "disconnected").empty());

  const std::string log = vgpud.read_log();
  const size_t rejected_lines = count_lines_with(log, "rejected");
  INFO(rejected_lines << " lines mention a rejection; the log has " << log.size() << " bytes");
  CHECK(rejected_lines > 0);
  CHECK(rejected_lines < 200);
  CHECK(log.size() < 100000);
  // The lines dropped are all accounted for, in the lines let through and in the last report.
  uint64_t dropped = 0;
  for (const std::string& line : lines_of(log)) {
    const size_t at = line.find(" similar lines dropped");
    if (at == std::string::npos) continue;
    const size_t start = line.find_last_not_of("0123456789", at - 1) + 1;
    dropped += std::stoull(line.substr(start, at - start));
  }
  CHECK(dropped + rejected_lines == kMessages + 1);
}

TEST_CASE("a process name cannot forge log lines or smuggle escape sequences", "[hostile][log]") {
  VgpudProcess vgpud;
  RawChannel ch(vgpud.socket("alpha"));
  const std::string forged = "I [vgpud/main] vgpud stopped";
  send_hello(ch, "evil\n" + forged + "\x1b[2J\x1b[31m'\\", 1234, 1);
  auto r = ch.receive();
  REQUIRE(r.has_value());
  const std::string attached = wait_for_line(vgpud, "attached");
  REQUIRE_FALSE(attached.empty());

  const std::string log = vgpud.read_log();  // before vgpud stops and logs its own last line
  INFO("--- vgpud log ---\n" << log);
  for (const std::string& line : lines_of(log)) CHECK(line.rfind(forged, 0) != 0);
  CHECK(log.find('\x1b') == std::string::npos);
  // The name is still there to read, escaped.
  CHECK(attached.find(R"('evil\x0aI [vgpud/main] vgpud stopped\x1b[2J\x1b[31m\x27\x5c')") !=
        std::string::npos);
}

TEST_CASE("the attach line shows the kernel's pid of the guest beside the one it claims",
          "[hostile][log]") {
  VgpudProcess vgpud;
  RawChannel ch(vgpud.socket("alpha"));
  send_hello(ch, "impostor", 1, 1);  // claims to be init
  auto r = ch.receive();
  REQUIRE(r.has_value());
  const std::string attached = wait_for_line(vgpud, "attached");
  INFO("attach line: " << attached);
  CHECK(attached.find("process 'impostor' (claimed pid 1, peer pid " + std::to_string(getpid()) +
                      ") attached") != std::string::npos);
}
