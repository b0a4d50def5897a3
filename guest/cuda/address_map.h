// A thread-safe set of device address ranges: what cudaMalloc returned, or where resolved
// __device__ variables live. The runtime classifies pointers with it (cudaMemcpyDefault,
// cudaPointerGetAttributes), since a guest cannot ask the GPU's address space directly.
#pragma once
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <vector>

namespace vgpu::cuda {

struct AddressRange {
  uint64_t start = 0;
  uint64_t size = 0;
  uint32_t device = 0;  // the device the range belongs to (cudaDeviceReset is per device)
};

class AddressMap {
 public:
  // Adds or replaces the range starting at `start`. Empty ranges are ignored.
  void insert(uint64_t start, uint64_t size, uint32_t device);
  // Removes the range that starts exactly at `start`; false when there is none.
  bool erase(uint64_t start);
  // The range containing `address`, if any.
  std::optional<AddressRange> find(uint64_t address) const;
  void clear();
  // Removes the device's ranges and returns them.
  std::vector<AddressRange> clear_device(uint32_t device);
  std::size_t size() const;

 private:
  struct Entry {
    uint64_t size;
    uint32_t device;
  };
  mutable std::mutex mu_;
  std::map<uint64_t, Entry> ranges_;  // start -> entry
};

}  // namespace vgpu::cuda
