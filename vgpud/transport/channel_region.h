// One channel's shared memory: a memfd sized and laid out by compute_geometry(), mapped in
// vgpud, with the header written. The memfd is what the guest side maps.
#pragma once
#include <memory>
#include <string>

#include "vgpu/protocol/channel_layout.h"
#include "vgpu/common/result.h"
#include "vgpud/transport/shared_memory.h"
#include "vgpud/transport/unique_fd.h"
#include "vgpud/protocol_alias.h"

namespace vgpud {

class ChannelRegion {
 public:
  static vgpu::Result<std::unique_ptr<ChannelRegion>, std::string> create(
      const proto::ChannelSizes& sizes, const std::string& name);
  // Maps a region made by create() in another process (the daemon, for a channel worker).
  // The layout is recomputed from the same sizes, never read from the shared header.
  // `offset` places it inside a larger region (a VM's slot, docs/protocol.md §7).
  static vgpu::Result<std::unique_ptr<ChannelRegion>, std::string> attach(
      UniqueFd memfd, const proto::ChannelSizes& sizes, uint64_t offset = 0);

  int memfd() const { return memory_.fd(); }
  uint8_t* base() const { return memory_.base(); }
  size_t size() const { return geometry_.region_size; }
  // vgpud's own copy of the layout; never read back from the shared header.
  const proto::ChannelGeometry& geometry() const { return geometry_; }
  proto::ChannelHeader* header() const { return reinterpret_cast<proto::ChannelHeader*>(base()); }

 private:
  ChannelRegion(SharedMemory memory, const proto::ChannelGeometry& g)
      : memory_(std::move(memory)), geometry_(g) {}

  SharedMemory memory_;
  proto::ChannelGeometry geometry_;
};

}  // namespace vgpud
