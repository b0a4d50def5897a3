#include "vgpud/transport/channel_region.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace vgpud {

vgpu::Result<std::unique_ptr<ChannelRegion>, std::string> ChannelRegion::create(
    const proto::ChannelSizes& sizes, const std::string& name) {
  auto geometry = proto::compute_geometry(sizes);
  if (!geometry) return vgpu::Err{std::string(proto::geometry_error_message(geometry.error()))};
  // Sealing the size means a guest holding the fd cannot shrink it under vgpud's mapping,
  // which would turn vgpud's next access into SIGBUS.
  UniqueFd fd(memfd_create(("vgpu-" + name).c_str(), MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!fd.valid()) return vgpu::Err{std::string("memfd_create: ") + std::strerror(errno)};
  if (ftruncate(fd.get(), static_cast<off_t>(geometry->region_size)) != 0)
    return vgpu::Err{std::string("ftruncate: ") + std::strerror(errno)};
  if (fcntl(fd.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0)
    return vgpu::Err{std::string("sealing the region: ") + std::strerror(errno)};
  void* base = mmap(nullptr, geometry->region_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
  if (base == MAP_FAILED) return vgpu::Err{std::string("mmap: ") + std::strerror(errno)};
  proto::initialize_channel_header(base, *geometry);
  return std::unique_ptr<ChannelRegion>(
      new ChannelRegion(std::move(fd), static_cast<uint8_t*>(base), *geometry));
}

vgpu::Result<std::unique_ptr<ChannelRegion>, std::string> ChannelRegion::attach(
    UniqueFd fd, const proto::ChannelSizes& sizes, uint64_t offset) {
  auto geometry = proto::compute_geometry(sizes);
  if (!geometry) return vgpu::Err{std::string(proto::geometry_error_message(geometry.error()))};
  struct stat st{};
  if (fstat(fd.get(), &st) != 0) return vgpu::Err{std::string("fstat: ") + std::strerror(errno)};
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  if (offset % 4096 != 0 || offset > size || size - offset < geometry->region_size ||
      (offset == 0 && size != geometry->region_size))
    return vgpu::Err{std::string("the channel region does not have the size of its layout")};
  void* base = mmap(nullptr, geometry->region_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(),
                    static_cast<off_t>(offset));
  if (base == MAP_FAILED) return vgpu::Err{std::string("mmap: ") + std::strerror(errno)};
  return std::unique_ptr<ChannelRegion>(
      new ChannelRegion(std::move(fd), static_cast<uint8_t*>(base), *geometry));
}

ChannelRegion::~ChannelRegion() { munmap(base_, geometry_.region_size); }

}  // namespace vgpud
