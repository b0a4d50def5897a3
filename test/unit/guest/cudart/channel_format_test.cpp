// The runtime's channel descriptors and the driver's array formats, both ways
// (guest/cudart/channel_format.h).
#include <catch2/catch.hpp>

#include "guest/cudart/channel_format.h"

using vgpu::cudart::channel_desc_of;
using vgpu::cudart::format_of;

TEST_CASE("channel descriptors become the driver's formats and back", "[arrays]") {
  struct Case {
    cudaChannelFormatDesc desc;
    CUarray_format format;
    unsigned channels;
  };
  const Case cases[] = {
      {{8, 0, 0, 0, cudaChannelFormatKindUnsigned}, CU_AD_FORMAT_UNSIGNED_INT8, 1},
      {{16, 16, 0, 0, cudaChannelFormatKindSigned}, CU_AD_FORMAT_SIGNED_INT16, 2},
      {{32, 32, 32, 32, cudaChannelFormatKindUnsigned}, CU_AD_FORMAT_UNSIGNED_INT32, 4},
      {{16, 0, 0, 0, cudaChannelFormatKindFloat}, CU_AD_FORMAT_HALF, 1},
      {{32, 32, 32, 32, cudaChannelFormatKindFloat}, CU_AD_FORMAT_FLOAT, 4},
  };
  for (const Case& c : cases) {
    CUarray_format format{};
    unsigned channels = 0;
    REQUIRE(format_of(c.desc, &format, &channels) == cudaSuccess);
    CHECK((format == c.format && channels == c.channels));
    const cudaChannelFormatDesc back = channel_desc_of(format, channels);
    CHECK((back.x == c.desc.x && back.y == c.desc.y && back.z == c.desc.z && back.w == c.desc.w && back.f == c.desc.f));
  }
}

TEST_CASE("channel descriptors the driver cannot take are refused", "[arrays]") {
  CUarray_format format{};
  unsigned channels = 0;
  const auto refuse = [&](cudaChannelFormatDesc d) { return format_of(d, &format, &channels); };
  CHECK(refuse({32, 32, 32, 0, cudaChannelFormatKindFloat}) == cudaErrorInvalidChannelDescriptor);  // three
  CHECK(refuse({32, 16, 0, 0, cudaChannelFormatKindFloat}) == cudaErrorInvalidChannelDescriptor);   // unequal
  CHECK(refuse({32, 0, 32, 0, cudaChannelFormatKindFloat}) == cudaErrorInvalidChannelDescriptor);   // a gap
  CHECK(refuse({8, 0, 0, 0, cudaChannelFormatKindFloat}) == cudaErrorInvalidChannelDescriptor);     // 8-bit float
  CHECK(refuse({64, 0, 0, 0, cudaChannelFormatKindSigned}) == cudaErrorInvalidChannelDescriptor);
  CHECK(refuse({0, 0, 0, 0, cudaChannelFormatKindNone}) == cudaErrorInvalidChannelDescriptor);
  CHECK(refuse({8, 0, 0, 0, cudaChannelFormatKindUnsignedNormalized8X1}) == cudaErrorNotSupported);
  CHECK(channel_desc_of(CU_AD_FORMAT_NV12, 1).f == cudaChannelFormatKindNone);
}
