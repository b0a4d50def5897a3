#include "vgpud/executor/device_output.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

namespace vgpud {

DeviceOutput::DeviceOutput(UniqueFd read_end)
    : read_end_(std::move(read_end)), stop_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  const int flags = fcntl(read_end_.get(), F_GETFL);
  if (flags >= 0) fcntl(read_end_.get(), F_SETFL, flags | O_NONBLOCK);
  thread_ = std::thread([this] { run(); });
}

DeviceOutput::~DeviceOutput() {
  const uint64_t one = 1;
  [[maybe_unused]] ssize_t n = write(stop_.get(), &one, sizeof one);
  thread_.join();
}

std::unique_ptr<DeviceOutput> DeviceOutput::capture_stdout() {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return nullptr;
  UniqueFd read_end(fds[0]);
  UniqueFd write_end(fds[1]);
  // A larger pipe lets the driver write a full printf FIFO's worth without waiting for the
  // thread (best effort: the system may cap it).
  fcntl(write_end.get(), F_SETPIPE_SZ, static_cast<int>(kMaxPendingDeviceOutput));
  std::fflush(stdout);
  if (dup2(write_end.get(), STDOUT_FILENO) < 0) return nullptr;  // dup2 clears FD_CLOEXEC
  std::setvbuf(stdout, nullptr, _IONBF, 0);
  return std::make_unique<DeviceOutput>(std::move(read_end));
}

void DeviceOutput::drain_locked() {
  char buffer[16 * 1024];
  for (;;) {
    const ssize_t n = read(read_end_.get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // empty (EAGAIN), or no writer left
    const size_t room = kMaxPendingDeviceOutput - pending_.size();
    const size_t kept = static_cast<size_t>(n) < room ? static_cast<size_t>(n) : room;
    pending_.append(buffer, kept);
    pending_size_.store(pending_.size(), std::memory_order_release);
    dropped_ += static_cast<uint64_t>(n) - kept;
  }
}

void DeviceOutput::run() {
  pollfd fds[2] = {{read_end_.get(), POLLIN, 0}, {stop_.get(), POLLIN, 0}};
  for (;;) {
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents != 0) return;
    if (fds[0].revents & POLLIN) {
      std::lock_guard lock(mutex_);
      drain_locked();
    } else if (fds[0].revents != 0) {
      return;  // no writer left (POLLHUP), or the pipe broke
    }
  }
}

std::string DeviceOutput::take(bool drain_pipe) {
  if (!drain_pipe && pending_size_.load(std::memory_order_acquire) == 0) return {};
  std::lock_guard lock(mutex_);
  if (drain_pipe) drain_locked();
  std::string out;
  out.swap(pending_);
  pending_size_.store(0, std::memory_order_release);
  return out;
}

uint64_t DeviceOutput::dropped() const {
  std::lock_guard lock(mutex_);
  return dropped_;
}

}  // namespace vgpud
