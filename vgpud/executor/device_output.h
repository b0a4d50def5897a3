// What kernels print (device-side printf): the driver writes it to its process's standard
// output when a context synchronizes. A channel worker serves one guest process, so its stdout
// is made a pipe, and what arrives there is that guest's, forwarded ahead of the next reply
// (proto::kDeviceOutputRecord) for the guest's own stdout, where a local driver would have put it.
//
// A thread drains the pipe as it fills, so the driver never blocks on a full pipe while it
// holds the executor. After a call at which the driver prints, take(true) also reads what the
// thread has not yet, so that the text precedes that call's reply; after any other call,
// take(false) costs one atomic load unless the thread found something. What
// the guest has not been given yet is bounded (kMaxPendingDeviceOutput); beyond that, output
// is dropped and counted, as the driver drops what overflows its printf FIFO.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "vgpud/transport/unique_fd.h"

namespace vgpud {

inline constexpr size_t kMaxPendingDeviceOutput = 1024 * 1024;

class DeviceOutput {
 public:
  // Reads what is written to `write_end`'s pipe; `read_end` is made non-blocking.
  explicit DeviceOutput(UniqueFd read_end);
  ~DeviceOutput();
  DeviceOutput(const DeviceOutput&) = delete;
  DeviceOutput& operator=(const DeviceOutput&) = delete;

  // Makes this process's standard output a pipe read by a new DeviceOutput (unbuffered, so
  // that the driver's stdio writes reach the pipe at once); null, with errno, when it cannot.
  static std::unique_ptr<DeviceOutput> capture_stdout();

  // What was not taken yet, in order: everything written so far with `drain_pipe`, else what
  // the thread has read (no system call).
  std::string take(bool drain_pipe);
  // Bytes dropped because kMaxPendingDeviceOutput was reached.
  uint64_t dropped() const;

 private:
  void drain_locked();
  void run();

  UniqueFd read_end_;
  UniqueFd stop_;  // an eventfd: the thread ends when it is written
  mutable std::mutex mutex_;
  std::string pending_;
  std::atomic<size_t> pending_size_{0};  // pending_.size(), read without the mutex
  uint64_t dropped_ = 0;
  std::thread thread_;  // last: it uses the members above
};

}  // namespace vgpud
