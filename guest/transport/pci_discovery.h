// Finding the vgpu-stub of a VM through sysfs (docs/protocol.md §7).
//
// The stub is stock QEMU ivshmem-doorbell (PCI 1af4:1110); other VMs may use the same device
// for something else, so a device only counts when its BAR2 (resource2) starts with the VM
// magic that vgpud writes. Memory BARs cannot be read() through sysfs, only mapped, so the
// check maps resource2; the mapping found is the one the transport keeps.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "guest/transport/transport.h"

namespace vgpu::guest {

inline constexpr uint16_t kStubVendor = 0x1af4;  // Red Hat / virtio
inline constexpr uint16_t kStubDevice = 0x1110;  // ivshmem
// ivshmem's BAR0: the register block, 256 bytes.
inline constexpr size_t kStubRegistersSize = 256;

// A read-write shared mapping of a file, and the file kept open (more of it may be mapped
// later: registered host memory maps heap pages of the region from it); unmapped and closed
// when destroyed. Move-only.
class MappedFile {
 public:
  MappedFile() = default;
  MappedFile(int fd, uint8_t* data, size_t map_size, size_t file_size, std::string path)
      : fd_(fd), data_(data), map_size_(map_size), file_size_(file_size), path_(std::move(path)) {}
  MappedFile(MappedFile&& other) noexcept { *this = std::move(other); }
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  int fd() const { return fd_; }
  uint8_t* data() const { return data_; }
  size_t size() const { return file_size_; }  // the file's size (the BAR's), not the page-rounded mapping
  const std::string& path() const { return path_; }

 private:
  void reset();

  int fd_ = -1;
  uint8_t* data_ = nullptr;
  size_t map_size_ = 0;
  size_t file_size_ = 0;
  std::string path_;
};

// Maps a whole file read-write and shared. Fails with PermissionDenied when the file exists but
// this user may not open it (or the kernel forbids mapping it), NoEndpoint when it is absent.
Result<MappedFile, ConnectFailure> map_file(const std::string& path);

struct VgpuStub {
  std::string address;   // PCI address, e.g. "0000:00:04.0"
  MappedFile registers;  // resource0: BAR0, the doorbell register lives here
  MappedFile region;     // resource2: BAR2, the VM region, starting with proto::kVmMagic
};

// The sysfs root: $VGPU_SYSFS_ROOT when set and not empty (tests), else "/sys".
std::string sysfs_root_from_env();

// Scans <sysfs_root>/bus/pci/devices for the stub. NoEndpoint when there is none (no device
// 1af4:1110 whose resource2 carries the magic); PermissionDenied when a 1af4:1110 device
// exists but this user may not map it, so its magic could not even be checked.
Result<VgpuStub, ConnectFailure> find_vgpu_stub(const std::string& sysfs_root);

}  // namespace vgpu::guest
