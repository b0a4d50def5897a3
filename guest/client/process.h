// The process's one channel to vgpud, shared by every shim loaded into the process
// (libcudart.so.13 today; the driver API and NVML shims next). It lives in libvgpu-client.so.1,
// which those shims share, so a process has one channel, one VM slot and one vgpud worker, and
// a device pointer from one shim is valid in the others.
//
// Opened by the first call that needs vgpud (never at library load: nvcc's registration
// constructors run with no daemon in reach) and never destroyed. Applications run atexit
// handlers that call into the shims (nvcc registers __cudaUnregisterFatBinary with atexit),
// some after static destructors would have run: what is never destroyed cannot be used after
// it is gone. The channel goes back to vgpud when the client library is unloaded at exit.
#pragma once
#include "guest/client/channel.h"
#include "guest/client/export.h"

namespace vgpu::guest {

// Opens the channel on first use; nullptr when vgpud cannot be reached (said once, at Warn,
// and remembered: later calls do not retry).
VGPU_CLIENT_API Channel* process_channel() noexcept;
// True once the process has started exiting (the application's atexit handlers are running):
// no more traffic to vgpud from then on.
VGPU_CLIENT_API bool process_exiting() noexcept;

}  // namespace vgpu::guest
