// A tenant's socket never waits on a client (vgpud/transport/local_endpoint.h): handshakes are
// pending entries with a deadline, at most max_pending at once, answered when complete.
#include "vgpud/transport/local_endpoint.h"

#include <catch2/catch.hpp>

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "vgpu/protocol/version.h"

using namespace vgpud;
using namespace std::chrono_literals;
namespace proto = vgpu::proto;

namespace {

struct Fixture {
  std::string dir;
  std::unique_ptr<LocalEndpoint> endpoint;
  std::vector<int> clients;

  explicit Fixture(size_t max_pending) {
    char tmpl[] = "/tmp/vgpu-ep-XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    dir = tmpl;
    LocalEndpointOptions o;
    o.socket_path = dir + "/t.sock";
    o.mode = 0600;
    o.tenant = "t";
    o.sizes.upload = o.sizes.download = 1 << 20;
    o.sizes.heap = 4 << 20;
    o.handshake_deadline = 1000ms;
    o.max_pending = max_pending;
    auto e = LocalEndpoint::listen(o);
    REQUIRE(e);
    endpoint = std::move(e).value();
  }
  ~Fixture() {
    for (int fd : clients) close(fd);
    endpoint.reset();
    std::filesystem::remove_all(dir);
  }
  int connect_client() {
    const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, endpoint->path().c_str(), sizeof addr.sun_path - 1);
    REQUIRE(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    clients.push_back(fd);
    return fd;
  }
};

// Whether vgpud closed the client's connection (EOF, nothing sent).
bool hung_up(int client) {
  pollfd p{client, POLLIN, 0};
  char byte;
  return poll(&p, 1, 1000) == 1 && recv(client, &byte, 1, MSG_DONTWAIT) == 0;
}

const proto::HandshakeRequest kRequest{proto::kHandshakeMagic, proto::kProtocolVersion, {0, 0}};
auto admit_all = [] { return proto::HandshakeStatus::Ok; };

}  // namespace

TEST_CASE("silent clients wait as bounded pending handshakes and are dropped at their deadline",
          "[transport]") {
  Fixture f(4);
  std::vector<int> silent;
  for (int i = 0; i < 6; ++i) silent.push_back(f.connect_client());
  const auto t0 = LocalEndpoint::Clock::now();
  CHECK(!f.endpoint->accept_pending(t0));
  // Four are taken; two wait in the kernel's backlog, and the socket is not polled meanwhile.
  CHECK(f.endpoint->pending_fds().size() == 4);
  CHECK(!f.endpoint->accepting(t0));
  REQUIRE(f.endpoint->next_wakeup());
  CHECK(*f.endpoint->next_wakeup() == t0 + 1000ms);
  // Nothing to read is not an answer.
  for (int fd : f.endpoint->pending_fds()) CHECK(!f.endpoint->advance(fd, admit_all));

  CHECK(f.endpoint->drop_expired(t0 + 999ms).empty());
  const auto dropped = f.endpoint->drop_expired(t0 + 1000ms);
  REQUIRE(dropped.size() == 4);
  CHECK(dropped[0] == "client pid " + std::to_string(getpid()) + ": sent no handshake within 1000 ms");
  for (int i = 0; i < 4; ++i) CHECK(hung_up(silent[i]));
  CHECK(f.endpoint->pending_fds().empty());
  CHECK(!f.endpoint->next_wakeup());

  // The two that waited in the backlog are taken now.
  const auto t1 = t0 + 1001ms;
  CHECK(f.endpoint->accepting(t1));
  CHECK(!f.endpoint->accept_pending(t1));
  CHECK(f.endpoint->pending_fds().size() == 2);
}

TEST_CASE("a request that arrives in pieces is answered once complete; garbage and refusals are dropped",
          "[transport]") {
  Fixture f(8);
  const int good = f.connect_client();
  const int garbage = f.connect_client();
  const int refused = f.connect_client();
  REQUIRE(!f.endpoint->accept_pending(LocalEndpoint::Clock::now()));
  const std::vector<int> pending = f.endpoint->pending_fds();  // in the order they connected
  REQUIRE(pending.size() == 3);

  const auto* bytes = reinterpret_cast<const uint8_t*>(&kRequest);
  REQUIRE(send(good, bytes, 7, 0) == 7);
  CHECK(!f.endpoint->advance(pending[0], admit_all));
  REQUIRE(send(good, bytes + 7, sizeof kRequest - 7, 0) == static_cast<ssize_t>(sizeof kRequest - 7));
  auto outcome = f.endpoint->advance(pending[0], admit_all);
  REQUIRE(outcome);
  REQUIRE(*outcome);
  CHECK((*outcome)->pid == getpid());
  CHECK((*outcome)->region != nullptr);
  proto::HandshakeReply reply{};
  REQUIRE(recv(good, &reply, sizeof reply, MSG_WAITALL) == sizeof reply);
  CHECK(reply.status == 0);
  CHECK(reply.region_size == (*outcome)->region->size());

  proto::HandshakeRequest bad = kRequest;
  bad.magic ^= 1;
  REQUIRE(send(garbage, &bad, sizeof bad, 0) == sizeof bad);
  outcome = f.endpoint->advance(pending[1], admit_all);
  REQUIRE(outcome);
  REQUIRE(!*outcome);
  CHECK(outcome->error().find("sent garbage") != std::string::npos);
  CHECK(hung_up(garbage));

  REQUIRE(send(refused, &kRequest, sizeof kRequest, 0) == sizeof kRequest);
  outcome = f.endpoint->advance(pending[2], [] { return proto::HandshakeStatus::TenantFull; });
  REQUIRE(outcome);
  REQUIRE(!*outcome);
  CHECK(outcome->error().find("max_processes") != std::string::npos);
  REQUIRE(recv(refused, &reply, sizeof reply, MSG_WAITALL) == sizeof reply);
  CHECK(reply.status == static_cast<int32_t>(proto::HandshakeStatus::TenantFull));
  CHECK(f.endpoint->pending_fds().empty());
}
