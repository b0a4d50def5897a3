// vgpud's ivshmem server (vgpud/transport/ivshmem/ivshmem_server.h) with a test playing QEMU
// on its socket: the handshake as the ivshmem spec orders it, the shared memory and eventfds
// QEMU gets, one client at a time, and a fresh memory for each connection.
#include "vgpud/transport/ivshmem/ivshmem_server.h"

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <string>
#include <utility>

#include "test/unit/vgpud/transport/ivshmem/ivshmem_test_client.h"

using namespace vgpud::ivshmem;
using namespace vgpud::ivshmem::test;

namespace {

constexpr uint64_t kMemorySize = 1 << 20;
constexpr uint32_t kVectors = 3;

std::unique_ptr<IvshmemServer> listen_at(const std::string& path) {
  auto server = IvshmemServer::listen({.socket = {.path = path, .group = "", .mode = 0600, .owner_hint = "test"},
                                       .name = "test",
                                       .memory_size = kMemorySize,
                                       .vectors = kVectors});
  REQUIRE(server.ok());
  return std::move(server).value();
}

constexpr size_t kHandshakeMessages = 3 + 2 * kVectors;

}  // namespace

TEST_CASE("QEMU gets the ivshmem handshake: version, its ID, the memory, vgpud's vectors, its own", "[ivshmem]") {
  TempDir dir;
  auto server = listen_at(dir.path + "/vm.sock");
  CHECK(!server->connected());
  CHECK(server->client_fd() == -1);
  CHECK(!server->accept([](uint8_t*) { FAIL("nobody is waiting"); }));

  IvshmemClient qemu(server->socket_path());
  REQUIRE(readable(server->listen_fd()));
  bool prepared = false;
  REQUIRE(server->accept([&](uint8_t* memory) {
    prepared = true;
    CHECK(memory[0] == 0);  // fresh memory
    std::memcpy(memory, "VGPV", 4);
  }));
  CHECK(prepared);
  CHECK(server->connected());
  qemu.receive(kHandshakeMessages);
  const auto& m = qemu.messages;

  CHECK(m[0] == std::pair<int64_t, int>{0, -1});           // protocol version 0
  CHECK(m[1] == std::pair<int64_t, int>{kVmPeerId, -1});   // the VM's own ID
  CHECK(m[2].first == -1);                                 // the shared memory
  REQUIRE(m[2].second >= 0);
  for (uint32_t v = 0; v < kVectors; ++v) {
    CHECK(m[3 + v].first == kVgpudPeerId);                 // how to interrupt vgpud
    CHECK(m[3 + kVectors + v].first == kVmPeerId);         // its own vectors
    REQUIRE(m[3 + v].second >= 0);
    REQUIRE(m[3 + kVectors + v].second >= 0);
  }

  SECTION("the memory is vgpud's, prepared before QEMU got it, and sealed at its size") {
    const int fd = m[2].second;
    CHECK(lseek(fd, 0, SEEK_END) == static_cast<off_t>(kMemorySize));
    void* p = mmap(nullptr, kMemorySize, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    REQUIRE(p != MAP_FAILED);
    CHECK(std::memcmp(p, "VGPV", 4) == 0);
    static_cast<uint8_t*>(p)[4096] = 0x5a;
    CHECK(server->memory()[4096] == 0x5a);
    munmap(p, kMemorySize);
    CHECK(ftruncate(fd, 4096) != 0);
    CHECK(fcntl(fd, F_GET_SEALS) == (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL));
    struct stat mine{}, theirs{};
    REQUIRE(fstat(server->memory_fd(), &mine) == 0);
    REQUIRE(fstat(fd, &theirs) == 0);
    CHECK(mine.st_ino == theirs.st_ino);
  }

  SECTION("the guest ringing vgpud's vector v wakes vgpud_vector(v); vgpud writing vm_vector(v) reaches the VM's") {
    for (uint32_t v = 0; v < kVectors; ++v) {
      REQUIRE(signal_eventfd(m[3 + v].second));
      REQUIRE(readable(server->vgpud_vector(v)));
      CHECK(take_count(server->vgpud_vector(v)) == 1);
      REQUIRE(signal_eventfd(server->vm_vector(v)));
      REQUIRE(readable(m[3 + kVectors + v].second));
      CHECK(take_count(m[3 + kVectors + v].second) == 1);
    }
  }

  SECTION("one QEMU at a time: a second connection is closed at once") {
    IvshmemClient second(server->socket_path());
    CHECK(!server->accept([](uint8_t*) { FAIL("the second QEMU gets no memory"); }));
    CHECK(second.closed_by_server());
    CHECK(server->connected());
  }

  SECTION("QEMU going away makes client_fd() readable") {
    qemu.hang_up();
    CHECK(readable(server->client_fd()));
  }

  SECTION("after a disconnect, the next QEMU gets fresh memory and vectors") {
    server->disconnect();
    CHECK(!server->connected());
    CHECK(server->memory() == nullptr);
    CHECK(qemu.closed_by_server());
    server->disconnect();  // nothing to do

    IvshmemClient next(server->socket_path());
    REQUIRE(server->accept([](uint8_t* memory) { CHECK(memory[0] == 0); }));
    next.receive(kHandshakeMessages);
    CHECK(next.messages[1].first == kVmPeerId);
  }
}

TEST_CASE("the server's socket file goes with it", "[ivshmem]") {
  TempDir dir;
  const std::string path = dir.path + "/vm.sock";
  {
    auto server = listen_at(path);
    IvshmemClient qemu(path);
    REQUIRE(server->accept([](uint8_t*) {}));
    CHECK(std::filesystem::exists(path));
  }
  CHECK(!std::filesystem::exists(path));
}
