// The channel worker's entry point (see worker_spec.h): vgpud's main() hands over to it when
// its first argument is --channel-worker.
#pragma once

namespace vgpud {

// Serves the channel until the guest goes away or the daemon sends SIGTERM; returns the exit
// code (0 when the channel ended in order, whatever the guest did).
int run_channel_worker(int argc, char** argv);

}  // namespace vgpud
