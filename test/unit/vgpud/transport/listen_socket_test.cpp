// One vgpud per socket (vgpud/transport/listen_socket.h): the lock beside each socket keeps a
// second daemon off it, a stale socket is replaced, and only the socket bound here is removed.
#include "vgpud/transport/listen_socket.h"

#include <catch2/catch.hpp>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <string>

using namespace vgpud;

namespace {

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/vgpu-sock-XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

ino_t inode(const std::string& path) {
  struct stat st{};
  return lstat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

// A socket file bound at `path` by someone else, closed again: what a crashed vgpud leaves.
void leave_socket_file(const std::string& path) {
  const int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  close(fd);
}

bool connects(const std::string& path) {
  const int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  close(fd);
  return ok;
}

}  // namespace

TEST_CASE("a socket whose lock is held is refused with one sentence naming the holder", "[transport]") {
  TempDir dir;
  const std::string path = dir.path + "/a.sock";
  auto first = listen_unix_socket({.path = path, .group = "", .mode = 0600, .owner_hint = "test"});
  REQUIRE(first);
  const ino_t bound = inode(path);
  REQUIRE(bound != 0);

  auto second = listen_unix_socket({.path = path, .group = "", .mode = 0600, .owner_hint = "test"});
  REQUIRE(!second);
  CHECK(second.error() == "another vgpud (pid " + std::to_string(getpid()) + ") is serving " + path +
                              ": stop it first, or give this configuration other sockets");
  // The first one's socket was not touched, not even replaced.
  CHECK(inode(path) == bound);
  CHECK(connects(path));

  // Once the first is gone, its socket file is gone and the path is free again.
  first->reset();
  CHECK(inode(path) == 0);
  CHECK(listen_unix_socket({.path = path, .group = "", .mode = 0600, .owner_hint = "test"}));
}

TEST_CASE("a stale socket left without its lock is replaced", "[transport]") {
  TempDir dir;
  const std::string path = dir.path + "/stale.sock";
  leave_socket_file(path);
  CHECK(!connects(path));
  auto s = listen_unix_socket({.path = path, .group = "", .mode = 0600, .owner_hint = "test"});
  REQUIRE(s);
  CHECK(connects(path));
}

TEST_CASE("a socket file someone else put in place is not removed", "[transport]") {
  TempDir dir;
  const std::string path = dir.path + "/b.sock";
  auto s = listen_unix_socket({.path = path, .group = "", .mode = 0600, .owner_hint = "test"});
  REQUIRE(s);
  // Another socket renamed over ours (as a vgpud that ignored the lock would have done).
  leave_socket_file(path + ".other");
  REQUIRE(rename((path + ".other").c_str(), path.c_str()) == 0);
  const ino_t theirs = inode(path);
  s->reset();
  CHECK(inode(path) == theirs);
}
