// Who gets in, and when: clients that never finish their handshake stall nobody and are dropped
// at the deadline; a tenant's max_processes holds across its socket and its VM together; and a
// second vgpud with the same configuration neither takes over the sockets nor removes them.
#include <catch2/catch.hpp>

#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "guest/transport/local_transport.h"
#include "test/integration/fake_qemu.h"
#include "test/integration/raw_channel.h"
#include "test/integration/vgpud_process.h"

using namespace vgpu::test;
namespace proto = vgpu::proto;
using Clock = std::chrono::steady_clock;

namespace {

// A connected UNIX socket that sends nothing; -1 when connect failed.
int connect_silently(const std::string& path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// How long connect + handshake take on `socket`; the channel is closed again at once.
long handshake_ms(const std::string& socket) {
  const auto start = Clock::now();
  auto transport = vgpu::guest::connect_local(socket);
  const long ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
  INFO((transport ? std::string("connected") : transport.error().message));
  REQUIRE(transport);
  return ms;
}


// Bumps every slot's lease as the shim's lease thread does, so that slow runs (sanitizers, a
// busy machine) lose no slot to the 1 s lease timeout while the test looks at them.
class LeaseKeeper {
 public:
  explicit LeaseKeeper(FakeQemu& q, uint32_t slots)
      : thread_([&q, slots](std::stop_token stop) {
          while (!stop.stop_requested()) {
            for (uint32_t i = 0; i < slots; ++i) q.slot(i).lease.fetch_add(1);
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
          }
        }) {}

 private:
  std::jthread thread_;
};

}  // namespace

TEST_CASE("silent clients stall neither their tenant nor another, and are dropped at the deadline",
          "[admission]") {
  VgpudProcess vgpud(std::vector<TenantSpec>{{"alpha", ""}, {"beta", ""}});
  std::vector<int> silent;
  for (int i = 0; i < 20; ++i) {
    silent.push_back(connect_silently(vgpud.socket("alpha")));
    REQUIRE(silent.back() >= 0);
  }
  const auto connected = Clock::now();

  // Another tenant's process, then one of alpha's own, each handshake served at once.
  CHECK(handshake_ms(vgpud.socket("beta")) < 500);
  CHECK(handshake_ms(vgpud.socket("alpha")) < 500);
  const std::string program = guest_program("memory_roundtrip");
  RunningProgram a = start_program(program, {}, {{"VGPU_SOCKET", vgpud.socket("alpha")}});
  RunningProgram b = start_program(program, {}, {{"VGPU_SOCKET", vgpud.socket("beta")}});
  auto ra = wait_program(a, 30), rb = wait_program(b, 30);
  INFO(ra.output << rb.output);
  CHECK(ra.exit_code == 0);
  CHECK(rb.exit_code == 0);

  // Each silent client sees vgpud hang up once its second is over, and is counted as rejected.
  for (int fd : silent) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        connected + std::chrono::milliseconds(3000) - Clock::now());
    pollfd p{fd, POLLIN, 0};
    CHECK(poll(&p, 1, static_cast<int>(std::max<long>(0, left.count()))) == 1);
    char byte;
    CHECK(recv(fd, &byte, 1, MSG_DONTWAIT) == 0);
    close(fd);
  }
  CHECK(vgpud.counter("alpha", "rejected") >= 20);
  CHECK(vgpud.counter("beta", "rejected") == 0);
  REQUIRE(vgpud.alive());
}

TEST_CASE("the shim gives up on a vgpud that never answers, with one sentence", "[admission]") {
  char dir[] = "/tmp/vgpu-hung-XXXXXX";
  REQUIRE(mkdtemp(dir) != nullptr);
  for (const bool backlog_full : {false, true}) {
    // A socket nobody serves: it listens (so connecting succeeds, as with a hung vgpud) and
    // never accepts. With its one-entry backlog taken, the shim's connect itself waits.
    const std::string path = std::string(dir) + (backlog_full ? "/full.sock" : "/hung.sock");
    const int server = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    REQUIRE(bind(server, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(listen(server, 0) == 0);
    const int filler = backlog_full ? connect_silently(path) : -1;

    const auto start = Clock::now();
    auto r = run_program(guest_program("memory_roundtrip"), {},
                         {{"VGPU_SOCKET", path},
                          {"VGPU_TRANSPORT", "local"},
                          {"VGPU_CONNECT_TIMEOUT_MS", "400"}},
                         10);
    const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
    INFO(r.output);
    CHECK(r.exit_code > 0);
    CHECK(took < 3000);
    CHECK(r.output.find("vgpud at " + path + " did not answer within 400 ms") != std::string::npos);
    if (filler >= 0) close(filler);
    close(server);
    unlink(path.c_str());
  }
  rmdir(dir);
}

TEST_CASE("a tenant's socket and VM share max_processes: the next is refused at exactly the limit",
          "[admission][vm]") {
  VgpudProcess vgpud({{"mixed", "      max_processes: 2\n", true}});
  FakeQemu q;
  connect_qemu(q, vgpud.vm_socket("mixed"), 5);
  LeaseKeeper leases(q, 4);
  auto settled = [&](uint32_t slot) {
    proto::SlotState s = proto::SlotState::Claimed;
    eventually([&] { return (s = state_of(q, slot)) != proto::SlotState::Claimed; });
    return s;
  };
  auto free_slot = [&](uint32_t slot) {
    q.slot(slot).state.store(static_cast<uint32_t>(proto::SlotState::Free));
  };

  // One local process and one VM process: the tenant's two.
  auto local = std::make_unique<RawChannel>(vgpud.socket("mixed"));
  claim(q, 0, 100);
  REQUIRE(settled(0) == proto::SlotState::Ready);

  // A third is refused by the VM's slot table and by the socket alike.
  claim(q, 1, 101);
  CHECK(settled(1) == proto::SlotState::Refused);
  free_slot(1);
  auto third = vgpu::guest::connect_local(vgpud.socket("mixed"));
  REQUIRE(!third);
  CHECK(third.error().message.find("max_processes") != std::string::npos);
  CHECK(vgpud.counter("mixed", "processes") == 2);

  // The local process leaves: the VM may take its place, and then the socket is full.
  local.reset();
  REQUIRE(eventually([&] { return vgpud.counter("mixed", "processes") == 1; }));
  claim(q, 1, 102);
  REQUIRE(settled(1) == proto::SlotState::Ready);
  claim(q, 2, 103);
  CHECK(settled(2) == proto::SlotState::Refused);
  third = vgpu::guest::connect_local(vgpud.socket("mixed"));
  REQUIRE(!third);
  CHECK(third.error().message.find("max_processes") != std::string::npos);
  CHECK(vgpud.counter("mixed", "processes") == 2);
  REQUIRE(vgpud.alive());
}

TEST_CASE("a second vgpud with the same configuration exits and leaves the first serving",
          "[admission]") {
  VgpudProcess vgpud(std::vector<TenantSpec>{{"alpha", ""}, {"vmt", "", true}});
  const std::map<std::string, std::string> env = {{"FAKE_CUDA_STATE_FILE", vgpud.state_file_pattern()}};
  RunningProgram second = start_program(VGPU_VGPUD_PATH, {"--config", vgpud.config_file()}, env);
  int status = 0;
  const bool exited = eventually([&] { return waitpid(second.pid, &status, WNOHANG) == second.pid; }, 5000);
  if (!exited) {
    // It took the sockets over (the old behaviour): stopping it is what removed them.
    kill(second.pid, SIGTERM);
    waitpid(second.pid, &status, 0);
  }
  const std::string output = program_output(second);
  unlink(second.output_file.c_str());
  INFO(output);
  CHECK(exited);
  CHECK((WIFEXITED(status) && WEXITSTATUS(status) != 0));
  CHECK(output.find("another vgpud (pid " + std::to_string(vgpud.pid()) + ") is serving " +
                    vgpud.socket("alpha")) != std::string::npos);

  // The first still owns and serves every socket.
  CHECK(access(vgpud.socket("alpha").c_str(), F_OK) == 0);
  CHECK(access(vgpud.vm_socket("vmt").c_str(), F_OK) == 0);
  CHECK(access(vgpud.control_socket().c_str(), F_OK) == 0);
  auto r = run_program(guest_program("memory_roundtrip"), {}, {{"VGPU_SOCKET", vgpud.socket("alpha")}});
  INFO(r.output);
  CHECK(r.exit_code == 0);
  REQUIRE(vgpud.alive());

  // A vgpud that crashed leaves its sockets but holds no lock: the next one replaces them.
  vgpud.crash();
  RunningProgram third = start_program(VGPU_VGPUD_PATH, {"--config", vgpud.config_file()}, env);
  CHECK(eventually([&] { return vgpu::guest::connect_local(vgpud.socket("alpha")).ok(); }, 5000));
  r = run_program(guest_program("memory_roundtrip"), {}, {{"VGPU_SOCKET", vgpud.socket("alpha")}});
  CHECK(r.exit_code == 0);
  kill(third.pid, SIGTERM);
  auto stopped = wait_program(third, 10);
  INFO(stopped.output);
  CHECK(stopped.exit_code == 0);
  CHECK(access(vgpud.socket("alpha").c_str(), F_OK) != 0);
}
