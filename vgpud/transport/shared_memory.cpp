#include "vgpud/transport/shared_memory.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <utility>

#include "vgpu/common/errno_text.h"

namespace vgpud {

using vgpu::errno_text;

vgpu::Result<SharedMemory, std::string> SharedMemory::create(const std::string& name, uint64_t size) {
  UniqueFd fd(memfd_create(name.c_str(), MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!fd.valid()) return vgpu::Err{errno_text("memfd_create")};
  if (ftruncate(fd.get(), static_cast<off_t>(size)) != 0) return vgpu::Err{errno_text("ftruncate")};
  if (fcntl(fd.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0)
    return vgpu::Err{errno_text("sealing the memfd")};
  return map(std::move(fd), size);
}

vgpu::Result<SharedMemory, std::string> SharedMemory::map(UniqueFd fd, uint64_t size, uint64_t offset) {
  struct stat st{};
  if (fstat(fd.get(), &st) != 0) return vgpu::Err{errno_text("fstat")};
  const auto file_size = static_cast<uint64_t>(st.st_size);
  if (size == 0 || offset % 4096 != 0 || offset > file_size || size > file_size - offset)
    return vgpu::Err{std::string("the shared memory is smaller than its layout")};
  void* base = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), static_cast<off_t>(offset));
  if (base == MAP_FAILED) return vgpu::Err{errno_text("mmap")};
  return SharedMemory(std::move(fd), static_cast<uint8_t*>(base), size, file_size);
}

SharedMemory::SharedMemory(SharedMemory&& other) noexcept
    : fd_(std::move(other.fd_)),
      base_(std::exchange(other.base_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      file_size_(other.file_size_) {}

SharedMemory& SharedMemory::operator=(SharedMemory&& other) noexcept {
  if (this != &other) {
    if (base_ != nullptr) munmap(base_, size_);
    fd_ = std::move(other.fd_);
    base_ = std::exchange(other.base_, nullptr);
    size_ = std::exchange(other.size_, 0);
    file_size_ = other.file_size_;
  }
  return *this;
}

SharedMemory::~SharedMemory() {
  if (base_ != nullptr) munmap(base_, size_);
}

}  // namespace vgpud
