// Memory vgpud shares with other processes (a channel's region, a VM's region, a tenant's
// state): a memfd mapped read-write, unmapped when this object goes.
//
// create() seals the memfd at its size: whoever else holds the descriptor (a guest, QEMU, a
// worker) cannot shrink it under vgpud's mapping, which would turn vgpud's next access into
// SIGBUS, nor grow it.
#pragma once
#include <cstdint>
#include <string>

#include "vgpu/common/result.h"
#include "vgpud/transport/unique_fd.h"

namespace vgpud {

class SharedMemory {
 public:
  // A fresh, zeroed memfd of `size` bytes, sealed, and mapped.
  static vgpu::Result<SharedMemory, std::string> create(const std::string& name, uint64_t size);
  // `size` bytes of `fd` from `offset` (page-aligned), which must lie inside the memfd.
  static vgpu::Result<SharedMemory, std::string> map(UniqueFd fd, uint64_t size, uint64_t offset = 0);

  SharedMemory(SharedMemory&& other) noexcept;
  SharedMemory& operator=(SharedMemory&& other) noexcept;
  SharedMemory(const SharedMemory&) = delete;
  SharedMemory& operator=(const SharedMemory&) = delete;
  ~SharedMemory();

  int fd() const { return fd_.get(); }
  uint8_t* base() const { return base_; }
  uint64_t size() const { return size_; }
  // The memfd's whole size, as fstat reports it (>= offset + size for map()).
  uint64_t file_size() const { return file_size_; }

 private:
  SharedMemory(UniqueFd fd, uint8_t* base, uint64_t size, uint64_t file_size)
      : fd_(std::move(fd)), base_(base), size_(size), file_size_(file_size) {}

  UniqueFd fd_;
  uint8_t* base_ = nullptr;
  uint64_t size_ = 0;
  uint64_t file_size_ = 0;
};

}  // namespace vgpud
