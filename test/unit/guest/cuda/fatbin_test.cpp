#include "guest/cuda/fatbin.h"

#include <catch2/catch.hpp>

#include <cstring>
#include <vector>

#include "vgpu/protocol/limits.h"

using namespace vgpu::cuda;

namespace {

struct Wrapper {
  int magic;
  int version;
  const unsigned long long* data;
  void* unused;
};

// A fat binary: 16-byte header (magic, version, header_size, fat_size), then the payload.
std::vector<unsigned long long> make_fatbin(uint16_t header_size, uint64_t fat_size, uint32_t magic = kFatbinMagic) {
  std::vector<unsigned long long> words(4 + fat_size / 8 + 1, 0);
  auto* bytes = reinterpret_cast<uint8_t*>(words.data());
  uint16_t version = 1;
  std::memcpy(bytes, &magic, 4);
  std::memcpy(bytes + 4, &version, 2);
  std::memcpy(bytes + 6, &header_size, 2);
  std::memcpy(bytes + 8, &fat_size, 8);
  return words;
}

}  // namespace

TEST_CASE("an nvcc fat binary's size is header_size + fat_size", "[cudart][fatbin]") {
  auto fatbin = make_fatbin(16, 1000);
  Wrapper w{static_cast<int>(kFatbinWrapperMagic), 1, fatbin.data(), nullptr};
  auto image = find_module_image(&w);
  REQUIRE(image);
  CHECK(image->data == fatbin.data());
  CHECK(image->size == 1016);

  auto wider = make_fatbin(64, 8);
  w.data = wider.data();
  REQUIRE(find_module_image(&w));
  CHECK(find_module_image(&w)->size == 72);
}

TEST_CASE("unrecognizable fat binaries are refused", "[cudart][fatbin]") {
  auto fatbin = make_fatbin(16, 100);
  Wrapper w{static_cast<int>(kFatbinWrapperMagic), 1, fatbin.data(), nullptr};

  SECTION("wrong wrapper magic") {
    w.magic = 0x12345678;
    CHECK_FALSE(find_module_image(&w));
  }
  SECTION("no data") {
    w.data = nullptr;
    CHECK_FALSE(find_module_image(&w));
  }
  SECTION("wrong fat binary magic") {
    auto bad = make_fatbin(16, 100, 0xdeadbeef);
    w.data = bad.data();
    CHECK_FALSE(find_module_image(&w));
  }
  SECTION("header smaller than a header") {
    auto bad = make_fatbin(8, 100);
    w.data = bad.data();
    CHECK_FALSE(find_module_image(&w));
  }
  SECTION("larger than any module vgpud accepts") {
    auto bad = make_fatbin(16, 0);
    uint64_t huge = vgpu::limits::kMaxModuleImage;
    std::memcpy(reinterpret_cast<uint8_t*>(bad.data()) + 8, &huge, 8);
    w.data = bad.data();
    CHECK_FALSE(find_module_image(&w));
    huge = UINT64_MAX - 8;  // would wrap when the header is added
    std::memcpy(reinterpret_cast<uint8_t*>(bad.data()) + 8, &huge, 8);
    CHECK_FALSE(find_module_image(&w));
  }
  CHECK_FALSE(find_module_image(nullptr));
}

TEST_CASE("fake-driver images are NUL-terminated text", "[cudart][fatbin]") {
  static const char text[] = "FAKECUBIN 1\nkernel k 8\n";
  SECTION("behind a wrapper, as tests register them") {
    Wrapper w{static_cast<int>(kFatbinWrapperMagic), 1, reinterpret_cast<const unsigned long long*>(text), nullptr};
    auto image = find_module_image(&w);
    REQUIRE(image);
    CHECK(image->data == text);
    CHECK(image->size == sizeof text);  // the NUL included
  }
  SECTION("passed directly") {
    auto image = find_module_image(text);
    REQUIRE(image);
    CHECK(image->size == std::strlen(text) + 1);
  }
  SECTION("other text is not an image") {
    static const char other[32] = "FAKECUBI";  // as large as a wrapper: it is read as one
    CHECK_FALSE(find_module_image(other));
    Wrapper w{static_cast<int>(kFatbinWrapperMagic), 1, reinterpret_cast<const unsigned long long*>(other), nullptr};
    CHECK_FALSE(find_module_image(&w));
  }
}
