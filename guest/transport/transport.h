// How the guest shim reaches vgpud. A transport maps one channel region and carries the two
// wake-ups (guest -> host doorbell, host -> guest notification); everything else goes through
// the rings in the region, the same for every transport.
#pragma once
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "vgpu/common/result.h"

namespace vgpu::guest {

enum class ConnectError {
  NoEndpoint,       // no socket / no PCI device found
  PermissionDenied, // endpoint exists but this user may not open it
  Refused,          // vgpud refused (tenant full, version mismatch, ...)
  BadRegion,        // the region it handed us is malformed
  SystemError,      // an unexpected OS error
};

// The file a region mapping shows and the offset in it of the mapping's first byte, so that more
// of the region can be mapped at other addresses (guest/cuda/host_register.h maps heap pages over
// registered program memory). fd is -1 when there is no such file.
struct BackingFile {
  int fd = -1;
  uint64_t offset = 0;
};

struct ConnectFailure {
  ConnectError code;
  std::string message;  // one sentence for the user: what is missing and what to do
};

class Transport {
 public:
  virtual ~Transport() = default;
  // The channel region, mapped read-write.
  virtual std::span<uint8_t> region() = 0;
  // The file region() is mapped from, open for as long as the transport lives.
  virtual BackingFile backing_file() const { return {}; }
  // Wake vgpud (it said it is waiting on the submit ring).
  virtual void notify_host() = 0;
  // Block until vgpud wakes us or timeout_ms passes. Returns false if vgpud is gone.
  virtual bool wait_for_host(int timeout_ms) = 0;
  // A short name for logs: "local:/run/vgpu/default.sock".
  virtual std::string describe() const = 0;
  // The process is exiting: tell vgpud now that the channel is done, so it frees its resources
  // at once rather than when it notices the process is gone. Later calls fail. A socket needs
  // nothing here (the kernel closes it); a VM slot is set Closing.
  virtual void hand_back() {}
};

// Picks the transport: VGPU_TRANSPORT=local|pci forces one; otherwise the PCI stub when present,
// else the local socket (VGPU_SOCKET, default /run/vgpu/default.sock).
Result<std::unique_ptr<Transport>, ConnectFailure> connect_transport();

}  // namespace vgpu::guest
