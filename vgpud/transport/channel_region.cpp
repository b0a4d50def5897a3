#include "vgpud/transport/channel_region.h"

#include <utility>

namespace vgpud {

vgpu::Result<std::unique_ptr<ChannelRegion>, std::string> ChannelRegion::create(
    const proto::ChannelSizes& sizes, const std::string& name) {
  auto geometry = proto::compute_geometry(sizes);
  if (!geometry) return vgpu::Err{std::string(proto::geometry_error_message(geometry.error()))};
  auto memory = SharedMemory::create("vgpu-" + name, geometry->region_size);
  if (!memory) return vgpu::Err{memory.error()};
  proto::initialize_channel_header(memory->base(), *geometry);
  return std::unique_ptr<ChannelRegion>(new ChannelRegion(std::move(memory).value(), *geometry));
}

vgpu::Result<std::unique_ptr<ChannelRegion>, std::string> ChannelRegion::attach(
    UniqueFd fd, const proto::ChannelSizes& sizes, uint64_t offset) {
  auto geometry = proto::compute_geometry(sizes);
  if (!geometry) return vgpu::Err{std::string(proto::geometry_error_message(geometry.error()))};
  auto memory = SharedMemory::map(std::move(fd), geometry->region_size, offset);
  // A channel of its own (offset 0) fills its memfd exactly; a VM's slot lies inside the VM's.
  if (!memory || (offset == 0 && memory->file_size() != geometry->region_size))
    return vgpu::Err{std::string("the channel region does not have the size of its layout")};
  return std::unique_ptr<ChannelRegion>(new ChannelRegion(std::move(memory).value(), *geometry));
}

}  // namespace vgpud
