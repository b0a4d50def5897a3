// The ivshmem handshake's wire messages (vgpud/transport/ivshmem/ivshmem_messages.h): their
// bytes, their order, and what arrives at the other end of a socket.
#include "vgpud/transport/ivshmem/ivshmem_messages.h"

#include <catch2/catch.hpp>

#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <vector>

using namespace vgpud::ivshmem;

namespace {

struct SocketPair {
  int server = -1, client = -1;
  SocketPair() {
    int fds[2];
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0);
    server = fds[0];
    client = fds[1];
  }
  ~SocketPair() {
    if (server >= 0) close(server);
    if (client >= 0) close(client);
  }
};

// What QEMU reads: 8 bytes, and the descriptors that came with them (received ones are open).
struct Received {
  std::vector<uint8_t> bytes;
  std::vector<int> fds;
  ~Received() {
    for (int fd : fds) close(fd);
  }
};

void receive(int socket, Received& r) {
  r.bytes.assign(8, 0);
  iovec iov{r.bytes.data(), r.bytes.size()};
  alignas(cmsghdr) char control[CMSG_SPACE(4 * sizeof(int))];
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  REQUIRE(recvmsg(socket, &msg, MSG_WAITALL | MSG_CMSG_CLOEXEC) == 8);
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    REQUIRE(c->cmsg_type == SCM_RIGHTS);
    const size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < n; ++i) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
      r.fds.push_back(fd);
    }
  }
}

bool same_file(int a, int b) {
  struct stat sa{}, sb{};
  return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

}  // namespace

TEST_CASE("a message's value is 8 little-endian bytes, as QEMU reads it", "[ivshmem]") {
  using Bytes = std::array<uint8_t, 8>;
  CHECK(encode_value(0) == Bytes{});
  CHECK(encode_value(1) == Bytes{1, 0, 0, 0, 0, 0, 0, 0});
  CHECK(encode_value(0x0102030405060708) == Bytes{8, 7, 6, 5, 4, 3, 2, 1});
  CHECK(encode_value(kMaxPeerId) == Bytes{0xff, 0xff, 0, 0, 0, 0, 0, 0});
  // -1, the shared memory's message: two's complement, every byte 0xff.
  CHECK(encode_value(kSharedMemoryMessage) == Bytes{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff});
  CHECK(encode_value(INT64_MIN) == Bytes{0, 0, 0, 0, 0, 0, 0, 0x80});
}

TEST_CASE("the handshake: version, the client's ID, the memory, the peer's vectors, its own", "[ivshmem]") {
  const std::vector<int> peer{10, 11, 12}, own{20, 21, 22};
  const std::vector<Message> m = handshake(1, 7, 0, peer, own);
  const std::vector<Message> expected{
      {0, -1}, {1, -1}, {-1, 7},            // steps 1-3
      {0, 10}, {0, 11}, {0, 12},            // step 4: how to interrupt peer 0, vectors 0..2
      {1, 20}, {1, 21}, {1, 22},            // step 5: the client's own vectors 0..2
  };
  CHECK(m == expected);
  CHECK(m.front().value == kProtocolVersion);

  SECTION("no vectors: only the first three steps") {
    CHECK(handshake(5, 3, 0, {}, {}) == std::vector<Message>{{0, -1}, {5, -1}, {-1, 3}});
  }
}

TEST_CASE("a message arrives as its 8 bytes, with its descriptor when it has one", "[ivshmem]") {
  SocketPair s;
  const int event = eventfd(0, EFD_CLOEXEC);
  REQUIRE(event >= 0);

  REQUIRE(send_message(s.server, {kProtocolVersion}));
  REQUIRE(send_message(s.server, {-1, event}));
  REQUIRE(send_message(s.server, {0x1234, -1}));

  Received version, memory, plain;
  receive(s.client, version);
  CHECK(version.bytes == std::vector<uint8_t>(8, 0));
  CHECK(version.fds.empty());
  receive(s.client, memory);
  CHECK(memory.bytes == std::vector<uint8_t>(8, 0xff));
  REQUIRE(memory.fds.size() == 1);
  CHECK(memory.fds[0] != event);  // a duplicate of it, in the receiver's table
  CHECK(same_file(memory.fds[0], event));
  receive(s.client, plain);
  CHECK(plain.bytes == std::vector<uint8_t>{0x34, 0x12, 0, 0, 0, 0, 0, 0});
  CHECK(plain.fds.empty());
  close(event);
}

TEST_CASE("sending to a client that went away fails instead of raising SIGPIPE", "[ivshmem]") {
  SocketPair s;
  close(s.client);
  s.client = -1;
  CHECK(!send_message(s.server, {kProtocolVersion}));
  CHECK(!send_message(-1, {kProtocolVersion}));
}
