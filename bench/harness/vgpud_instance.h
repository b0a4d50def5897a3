// The vgpud the shim sides talk to: started by the harness with a generated configuration
// (one tenant, local socket, limits sized for the bulk cases) and stopped with SIGTERM.
#pragma once
#include <sys/types.h>

#include <memory>
#include <string>

#include "vgpu/common/result.h"

namespace bench {

struct VgpudSettings {
  std::string program;        // the vgpud binary
  std::string driver;         // vgpud.driver: libcuda.so.1, or the fake driver for smoke runs
  std::string work_dir;       // config, sockets and vgpud.log go here
  std::string staging_memory; // limits.staging_memory
  std::string pinned_memory;  // limits.pinned_memory
  int poll_spin_us = 50;
};

class VgpudInstance {
 public:
  static vgpu::Result<std::unique_ptr<VgpudInstance>, std::string> start(const VgpudSettings& s);
  ~VgpudInstance();  // SIGTERM, then SIGKILL after 10 s

  const std::string& socket() const { return socket_; }
  const std::string& log_path() const { return log_path_; }

 private:
  VgpudInstance(pid_t pid, std::string socket, std::string log)
      : pid_(pid), socket_(std::move(socket)), log_path_(std::move(log)) {}
  pid_t pid_;
  std::string socket_;
  std::string log_path_;
};

}  // namespace bench
