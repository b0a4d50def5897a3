#include "guest/transport/pci_discovery.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <utility>
#include <vector>

#include "vgpu/protocol/vm_layout.h"

namespace vgpu::guest {

namespace {

ConnectFailure failure(ConnectError code, std::string message) {
  return ConnectFailure{code, std::move(message)};
}

std::string permission_message(const std::string& path) {
  return "permission denied opening the vgpu-stub (" + path +
         "): add this user to group 'vgpu' (the guest package's udev rule grants it access)";
}

// sysfs attributes like "vendor" hold one hex number ("0x1af4\n").
std::optional<unsigned long> read_hex_attribute(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  char buf[32] = {};
  const ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return std::nullopt;
  char* end = nullptr;
  const unsigned long v = std::strtoul(buf, &end, 16);
  if (end == buf) return std::nullopt;
  return v;
}

std::vector<std::string> list_devices(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return names;
  while (const dirent* e = readdir(d))
    if (e->d_name[0] != '.') names.emplace_back(e->d_name);
  closedir(d);
  // Deterministic order: with several stubs (unusual), the lowest PCI address wins.
  std::sort(names.begin(), names.end());
  return names;
}

bool starts_with_vm_magic(const MappedFile& region) {
  if (region.size() < sizeof(uint32_t)) return false;
  uint32_t magic;
  std::memcpy(&magic, region.data(), sizeof magic);
  return magic == proto::kVmMagic;
}

}  // namespace

void MappedFile::reset() {
  if (data_ != nullptr) munmap(data_, map_size_);
  if (fd_ >= 0) close(fd_);
  data_ = nullptr;
  fd_ = -1;
}

MappedFile& MappedFile::operator=(MappedFile&& other) noexcept {
  if (this != &other) {
    reset();
    fd_ = std::exchange(other.fd_, -1);
    data_ = std::exchange(other.data_, nullptr);
    map_size_ = std::exchange(other.map_size_, 0);
    file_size_ = std::exchange(other.file_size_, 0);
    path_ = std::move(other.path_);
  }
  return *this;
}

MappedFile::~MappedFile() { reset(); }

Result<MappedFile, ConnectFailure> map_file(const std::string& path) {
  const int fd = open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    const int e = errno;
    if (e == EACCES || e == EPERM)
      return Err{failure(ConnectError::PermissionDenied, permission_message(path))};
    if (e == ENOENT)
      return Err{failure(ConnectError::NoEndpoint, "the vgpu-stub has no " + path)};
    return Err{failure(ConnectError::SystemError,
                       "cannot open " + path + ": " + std::strerror(e))};
  }
  struct stat st{};
  if (fstat(fd, &st) != 0 || st.st_size <= 0) {
    close(fd);
    return Err{failure(ConnectError::BadRegion, "the vgpu-stub's " + path + " is empty")};
  }
  const size_t file_size = static_cast<size_t>(st.st_size);
  // sysfs maps BARs by whole pages (a 256-byte BAR0 takes one page).
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  const size_t map_size = (file_size + page - 1) / page * page;
  void* p = mmap(nullptr, map_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  const int e = errno;
  if (p == MAP_FAILED) {
    close(fd);
    // Opening worked, so EPERM here is the kernel itself: lockdown (Secure Boot) forbids
    // mapping PCI BARs from user space.
    if (e == EPERM)
      return Err{failure(ConnectError::PermissionDenied,
                         "the kernel refused to map the vgpu-stub (" + path +
                             "): kernel lockdown (Secure Boot) forbids mapping PCI devices "
                             "from user space; disable Secure Boot in this VM")};
    return Err{failure(ConnectError::SystemError,
                       "cannot map " + path + ": " + std::strerror(e))};
  }
  return MappedFile(fd, static_cast<uint8_t*>(p), map_size, file_size, path);
}

std::string sysfs_root_from_env() {
  const char* root = std::getenv("VGPU_SYSFS_ROOT");
  return root != nullptr && *root != '\0' ? root : "/sys";
}

Result<VgpuStub, ConnectFailure> find_vgpu_stub(const std::string& sysfs_root) {
  const std::string devices = sysfs_root + "/bus/pci/devices";
  std::optional<ConnectFailure> denied;  // a stub-like device we could not check
  for (const std::string& name : list_devices(devices)) {
    const std::string dir = devices + "/" + name;
    if (read_hex_attribute(dir + "/vendor") != kStubVendor ||
        read_hex_attribute(dir + "/device") != kStubDevice)
      continue;
    auto region = map_file(dir + "/resource2");
    if (!region) {
      if (region.error().code == ConnectError::PermissionDenied && !denied)
        denied = region.error();
      continue;
    }
    // Another user of ivshmem-doorbell (not vgpud) is not ours: look further.
    if (!starts_with_vm_magic(*region)) continue;
    auto registers = map_file(dir + "/resource0");
    if (!registers) return Err{registers.error()};
    if (registers->size() < proto::kIvshmemDoorbellRegister + sizeof(uint32_t))
      return Err{failure(ConnectError::BadRegion,
                         "the vgpu-stub's register BAR (" + registers->path() + ") is too small")};
    return VgpuStub{name, std::move(registers).value(), std::move(region).value()};
  }
  if (denied) return Err{*denied};
  return Err{failure(ConnectError::NoEndpoint,
                     "no vgpu-stub PCI device (1af4:1110 with a vgpu region) under " + devices)};
}

}  // namespace vgpu::guest
