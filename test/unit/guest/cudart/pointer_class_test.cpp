#include "guest/cudart/pointer_class.h"

#include <catch2/catch.hpp>

using namespace vgpu::cudart;

TEST_CASE("cudaMemcpyDefault infers the direction from the pointers", "[cudart][pointer]") {
  using enum PtrKind;
  CHECK(copy_direction(cudaMemcpyDefault, Device, Device) == Direction::DeviceToDevice);
  CHECK(copy_direction(cudaMemcpyDefault, Device, Pageable) == Direction::HostToDevice);
  CHECK(copy_direction(cudaMemcpyDefault, Device, Pinned) == Direction::HostToDevice);
  CHECK(copy_direction(cudaMemcpyDefault, Pinned, Device) == Direction::DeviceToHost);
  CHECK(copy_direction(cudaMemcpyDefault, Pageable, Device) == Direction::DeviceToHost);
  CHECK(copy_direction(cudaMemcpyDefault, Pageable, Pinned) == Direction::HostToHost);
}

TEST_CASE("explicit copy kinds are trusted", "[cudart][pointer]") {
  using enum PtrKind;
  // The destination is not a known allocation (say, after cudaDeviceReset): the kind decides.
  CHECK(copy_direction(cudaMemcpyHostToDevice, Pageable, Pageable) == Direction::HostToDevice);
  CHECK(copy_direction(cudaMemcpyDeviceToHost, Pinned, Pageable) == Direction::DeviceToHost);
  CHECK(copy_direction(cudaMemcpyDeviceToDevice, Pageable, Pageable) == Direction::DeviceToDevice);
  CHECK(copy_direction(cudaMemcpyHostToHost, Device, Device) == Direction::HostToHost);
  CHECK_FALSE(copy_direction(static_cast<cudaMemcpyKind>(5), Device, Pageable));
  CHECK_FALSE(copy_direction(static_cast<cudaMemcpyKind>(-1), Device, Pageable));
}
