#include "vgpud/executor/device_output.h"

#include <fcntl.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <thread>

using vgpud::DeviceOutput;
using vgpud::kMaxPendingDeviceOutput;
using vgpud::UniqueFd;

namespace {

struct Pipe {
  UniqueFd read_end;
  UniqueFd write_end;
};

Pipe make_pipe() {
  int fds[2];
  REQUIRE(pipe2(fds, O_CLOEXEC) == 0);
  return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

void write_all(int fd, const std::string& text) {
  size_t at = 0;
  while (at < text.size()) {
    const ssize_t n = write(fd, text.data() + at, text.size() - at);
    REQUIRE(n > 0);
    at += static_cast<size_t>(n);
  }
}

}  // namespace

TEST_CASE("device output: what is written is taken once, in order", "[executor][device_output]") {
  Pipe p = make_pipe();
  DeviceOutput out(std::move(p.read_end));
  CHECK(out.take(true).empty());
  write_all(p.write_end.get(), "block 0\n");
  write_all(p.write_end.get(), "block 1\n");
  // take(true) reads what the thread has not yet: nothing written before it is missed.
  CHECK(out.take(true) == "block 0\nblock 1\n");
  CHECK(out.take(true).empty());
  write_all(p.write_end.get(), "later\n");
  CHECK(out.take(true) == "later\n");
  CHECK(out.dropped() == 0);
}

TEST_CASE("device output: without draining, what the thread read is handed over", "[executor][device_output]") {
  Pipe p = make_pipe();
  DeviceOutput out(std::move(p.read_end));
  CHECK(out.take(false).empty());
  write_all(p.write_end.get(), "from the thread\n");
  std::string got;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (got.empty() && std::chrono::steady_clock::now() < deadline) {
    got = out.take(false);
    if (got.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  CHECK(got == "from the thread\n");
  CHECK(out.take(false).empty());
  CHECK(out.take(true).empty());
}

TEST_CASE("device output: a writer is never blocked, and what is kept is bounded", "[executor][device_output]") {
  Pipe p = make_pipe();
  DeviceOutput out(std::move(p.read_end));
  // Far more than a pipe holds, written by one thread while nobody takes: the reader thread
  // keeps the pipe drained (a driver blocked on a full pipe would hold the executor forever).
  const std::string chunk(64 * 1024, 'x');
  const size_t total = 3 * kMaxPendingDeviceOutput;
  std::thread writer([&] {
    for (size_t written = 0; written < total; written += chunk.size()) write_all(p.write_end.get(), chunk);
  });
  writer.join();
  const std::string kept = out.take(true);
  CHECK(kept.size() == kMaxPendingDeviceOutput);
  CHECK(out.dropped() == total - kMaxPendingDeviceOutput);
}
