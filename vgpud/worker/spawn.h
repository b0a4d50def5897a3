// Starting a channel worker (worker_spec.h) from the daemon.
#pragma once
#include <sys/types.h>

#include <string>

#include "vgpu/common/result.h"
#include "vgpud/worker/worker_spec.h"

namespace vgpud {

// The daemon's descriptors of the channel; the worker gets its own copies at the fixed
// numbers of worker_spec.h and nothing else of the daemon's.
struct WorkerFds {
  int region = -1;
  int doorbell = -1;
  int notify = -1;
  int guest_socket = -1;
  int tenant_state = -1;
};

// Starts `/proc/self/exe --channel-worker ...` in its own process group (so a terminal's
// Ctrl-C reaches only the daemon, which then stops its workers in order). Returns its pid.
[[nodiscard]] vgpu::Result<pid_t, std::string> spawn_channel_worker(const WorkerSpec& spec,
                                                                   const WorkerFds& fds);

}  // namespace vgpud
