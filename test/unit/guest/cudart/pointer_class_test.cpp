#include "guest/cudart/pointer_class.h"

#include <catch2/catch.hpp>

#include <vector>

using namespace vgpu::cudart;

namespace {

const void* at(uint64_t address) { return reinterpret_cast<const void*>(static_cast<uintptr_t>(address)); }

}  // namespace

TEST_CASE("pointers classify by where they live", "[cudart][pointer]") {
  std::vector<uint8_t> heap_memory(4096);
  HeapRange heap{heap_memory.data(), heap_memory.size()};
  AddressMap allocations;
  AddressMap symbols;
  allocations.insert(0x7f0000000000, 1 << 20, 0);
  symbols.insert(0x7f1000000000, 16, 0);

  SECTION("inside the shared heap, with its offset") {
    auto c = classify_pointer(heap_memory.data() + 100, 200, heap, allocations, symbols);
    CHECK(c.kind == PtrKind::Heap);
    CHECK(c.heap_offset == 100);
    CHECK(classify_pointer(heap_memory.data(), 4096, heap, allocations, symbols).kind == PtrKind::Heap);
  }
  SECTION("a range running past the heap's end is pageable") {
    CHECK(classify_pointer(heap_memory.data() + 4000, 97, heap, allocations, symbols).kind == PtrKind::Pageable);
    CHECK(classify_pointer(heap_memory.data() + 4096, 1, heap, allocations, symbols).kind == PtrKind::Pageable);
  }
  SECTION("device allocations, anywhere inside") {
    CHECK(classify_pointer(at(0x7f0000000000), 8, heap, allocations, symbols).kind == PtrKind::Device);
    CHECK(classify_pointer(at(0x7f0000000000 + (1 << 20) - 1), 1, heap, allocations, symbols).kind ==
          PtrKind::Device);
    CHECK(classify_pointer(at(0x7f0000000000 + (1 << 20)), 1, heap, allocations, symbols).kind ==
          PtrKind::Pageable);
    CHECK(classify_pointer(at(0x7f0000000000 - 1), 1, heap, allocations, symbols).kind == PtrKind::Pageable);
  }
  SECTION("resolved device variables") {
    CHECK(classify_pointer(at(0x7f1000000008), 4, heap, allocations, symbols).kind == PtrKind::Device);
    CHECK(classify_pointer(at(0x7f1000000010), 4, heap, allocations, symbols).kind == PtrKind::Pageable);
  }
  SECTION("everything else is pageable host memory") {
    int local = 0;
    CHECK(classify_pointer(&local, sizeof local, heap, allocations, symbols).kind == PtrKind::Pageable);
    CHECK(classify_pointer(&local, sizeof local, HeapRange{}, allocations, symbols).kind == PtrKind::Pageable);
  }
}

TEST_CASE("cudaMemcpyDefault infers the direction from the pointers", "[cudart][pointer]") {
  using enum PtrKind;
  CHECK(copy_direction(cudaMemcpyDefault, Device, Device) == Direction::DeviceToDevice);
  CHECK(copy_direction(cudaMemcpyDefault, Device, Pageable) == Direction::HostToDevice);
  CHECK(copy_direction(cudaMemcpyDefault, Device, Heap) == Direction::HostToDevice);
  CHECK(copy_direction(cudaMemcpyDefault, Heap, Device) == Direction::DeviceToHost);
  CHECK(copy_direction(cudaMemcpyDefault, Pageable, Device) == Direction::DeviceToHost);
  CHECK(copy_direction(cudaMemcpyDefault, Pageable, Heap) == Direction::HostToHost);
}

TEST_CASE("explicit copy kinds are trusted", "[cudart][pointer]") {
  using enum PtrKind;
  // The destination is not a known allocation (say, after cudaDeviceReset): the kind decides.
  CHECK(copy_direction(cudaMemcpyHostToDevice, Pageable, Pageable) == Direction::HostToDevice);
  CHECK(copy_direction(cudaMemcpyDeviceToHost, Heap, Pageable) == Direction::DeviceToHost);
  CHECK(copy_direction(cudaMemcpyDeviceToDevice, Pageable, Pageable) == Direction::DeviceToDevice);
  CHECK(copy_direction(cudaMemcpyHostToHost, Device, Device) == Direction::HostToHost);
  CHECK_FALSE(copy_direction(static_cast<cudaMemcpyKind>(5), Device, Pageable));
  CHECK_FALSE(copy_direction(static_cast<cudaMemcpyKind>(-1), Device, Pageable));
}
